"""The policy-file side of a transform: a pydantic rule model that validates parameters and builds the
transform. Each transform module defines its rule next to its implementation; ``registry`` lists them."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from streams.keys import KeyRing
from streams.transforms.base import Transform


@dataclass(frozen=True, slots=True)
class BuildContext:
    """What building a transform may need besides its parameters (key material, by id)."""

    keyring: KeyRing


class RuleBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @abstractmethod
    def build(self, ctx: BuildContext) -> Transform | None:
        """The transform for this rule; None means the field is dropped from the output."""

    def key_refs(self) -> tuple[str | None, ...]:
        """Key ids this rule uses (None: the default key of its purpose). The linter checks they exist."""
        return ()
