"""Turn validated policy rules into transform instances."""

from __future__ import annotations

from streams.keys import KeyRing
from streams.policy.model import DropRule, FieldRule, GeneralizeRule, KeepRule, MaskRule, TokenizeRule
from streams.transforms import Generalize, Keep, Mask, Tokenize, Transform


def build_transform(rule: FieldRule, keyring: KeyRing) -> Transform | None:
    """The transform for a rule, or None for ``drop`` (the field leaves the output schema)."""
    match rule:
        case DropRule():
            return None
        case KeepRule():
            return Keep()
        case TokenizeRule(scope=scope, key=key, normalize=normalize):
            key_id, material = keyring.get(key)
            return Tokenize(material, key_id, scope, normalize)
        case MaskRule():
            return Mask(
                keep_first=rule.keep_first,
                keep_last=rule.keep_last,
                char=rule.char,
                style=rule.style,
                keep_domain=rule.keep_domain,
                preserve_length=rule.preserve_length,
            )
        case GeneralizeRule(to=to, bucket_width=width, prefix_length=prefix):
            return Generalize(to=to, bucket_width=width, prefix_length=prefix)
    raise TypeError(f"no transform for rule {type(rule).__name__}")
