"""``mask``: hide most characters of a string, keeping a few for human recognition.

Parameters: ``keep_first`` / ``keep_last`` (characters kept at each end, default 1 / 0), ``char`` (default
``*``), ``style`` (``auto`` detects emails and phone numbers, or force ``plain``, ``email``, ``phone``),
``keep_domain`` (emails: keep the domain, default false: only its top-level part stays), ``preserve_length``
(default false: a fixed run of four mask characters, so the length of a name does not leak).

Privacy meaning: weak; a masked value narrows a subject down, so use it for display fields, not as the only
protection of a join key. The output never equals the input: when too few characters would be hidden, the
whole value is masked. Example: ``ada@example.com`` -> ``a****@****.com``; ``+44 20 7946 0958`` ->
``+** ** **** **58``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from streams.avro.types import AvroType
from streams.transforms.base import BatchContext, Transform, wrong_type
from streams.transforms.rule import BuildContext, RuleBase

FIXED_MASK_LENGTH = 4
PHONE_PUNCTUATION = "+-(). "


def _number_part(text: str) -> str:
    end = 0
    while end < len(text) and (text[end].isdigit() or text[end] in PHONE_PUNCTUATION):
        end += 1
    return text[:end]


class Mask(Transform):
    name = "mask"
    accepts = frozenset({"string"})

    def __init__(
        self,
        keep_first: int = 1,
        keep_last: int = 0,
        char: str = "*",
        style: str = "auto",
        keep_domain: bool = False,
        preserve_length: bool = False,
    ) -> None:
        self.keep_first = keep_first
        self.keep_last = keep_last
        self.char = char
        self.style = style
        self.keep_domain = keep_domain
        self.preserve_length = preserve_length

    @property
    def label(self) -> str:
        return f"mask(style={self.style},first={self.keep_first},last={self.keep_last})"

    def output_type(self, input_type: AvroType, path: str) -> AvroType:
        self.check_type(input_type, path)
        return "string"

    def _plain(self, text: str, keep_first: int, keep_last: int) -> str:
        hidden = len(text) - keep_first - keep_last
        if hidden < max(2, len(text) // 2):
            # Too little would be hidden to call it masked: hide everything.
            return self.char * (len(text) if self.preserve_length else FIXED_MASK_LENGTH)
        middle = self.char * (hidden if self.preserve_length else FIXED_MASK_LENGTH)
        return text[:keep_first] + middle + (text[len(text) - keep_last :] if keep_last else "")

    def _email(self, text: str) -> str:
        local, _, domain = text.rpartition("@")
        masked_local = self._plain(local, self.keep_first, 0)
        if self.keep_domain:
            return f"{masked_local}@{domain}"
        _, dot, tld = domain.rpartition(".")
        return f"{masked_local}@{self.char * FIXED_MASK_LENGTH}{dot}{tld}"

    def _phone(self, text: str) -> str:
        """Digits masked but the last ``keep_last`` of the number; only the number's own punctuation is kept.

        The number is the longest prefix of digits and ``+-(). ``; whatever follows it (a comment, a name, an
        address: ``+44 20 7946 0000 (home of Jane Doe)``) is masked whole, so no text is released.
        """
        number = _number_part(text)
        rest = text[len(number) :]
        keep_last = self.keep_last or 2
        digits_total = sum(ch.isdigit() for ch in number)
        keep_from = digits_total - keep_last
        out: list[str] = []
        seen = 0
        for ch in number:
            if ch.isdigit():
                out.append(ch if seen >= keep_from else self.char)
                seen += 1
            else:
                out.append(ch)
        if rest:
            out.append(self.char * (len(rest) if self.preserve_length else FIXED_MASK_LENGTH))
        return "".join(out)

    def _mask(self, value: object) -> str:
        if not isinstance(value, str):
            raise wrong_type("mask", value, "string")
        style = self.style
        if style == "auto":
            if "@" in value:
                style = "email"
            elif sum(ch.isdigit() for ch in value) >= 7 and all(
                ch.isdigit() or ch in PHONE_PUNCTUATION for ch in value
            ):
                style = "phone"
            else:
                style = "plain"
        if style == "email" and "@" in value:
            return self._email(value)
        if style == "phone" and sum(ch.isdigit() for ch in _number_part(value)) > (self.keep_last or 2) + 3:
            return self._phone(value)
        return self._plain(value, self.keep_first, self.keep_last)

    def mask(self, value: object) -> str:
        result = self._mask(value)
        if result == value:
            # Only when the input already looked masked (it contains the mask characters): still change it.
            return self.char * (len(result) + 1)
        return result

    def apply(self, values: Sequence[Any], ctx: BatchContext) -> list[Any]:
        return [self.mask(v) for v in values]


class MaskRule(RuleBase):
    transform: Literal["mask"]
    keep_first: int = Field(1, ge=0, le=8)
    keep_last: int = Field(0, ge=0, le=8)
    char: str = Field("*", min_length=1, max_length=1)
    style: Literal["auto", "plain", "email", "phone"] = "auto"
    keep_domain: bool = False
    preserve_length: bool = False

    def build(self, ctx: BuildContext) -> Transform:
        return Mask(
            keep_first=self.keep_first,
            keep_last=self.keep_last,
            char=self.char,
            style=self.style,
            keep_domain=self.keep_domain,
            preserve_length=self.preserve_length,
        )
