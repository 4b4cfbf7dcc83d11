"""``drop``: the field leaves the output schema. Privacy meaning: the strongest; nothing of it is released.

Fields a policy does not name are dropped the same way (fail closed) and also reported as uncovered.
"""

from __future__ import annotations

from typing import Literal

from streams.transforms.base import Transform
from streams.transforms.rule import BuildContext, RuleBase


class DropRule(RuleBase):
    """``drop`` (or the shorthand string ``drop``)."""

    transform: Literal["drop"]

    def build(self, ctx: BuildContext) -> Transform | None:
        return None
