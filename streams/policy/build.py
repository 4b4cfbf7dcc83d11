"""Turn validated policy rules into transform instances."""

from __future__ import annotations

from streams.keys import KeyRing
from streams.transforms.base import Transform
from streams.transforms.registry import FieldRule
from streams.transforms.rule import BuildContext


def build_transform(rule: FieldRule, keyring: KeyRing) -> Transform | None:
    """The transform for a rule, or None for ``drop`` (the field leaves the output schema)."""
    return rule.build(BuildContext(keyring=keyring))
