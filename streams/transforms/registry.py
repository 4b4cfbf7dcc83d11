"""Every transform rule the policy format accepts. Adding a transform: a module with the transform and its
rule model, then one entry in ``FieldRule`` below."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from streams.transforms.date_shift import DateShiftRule
from streams.transforms.drop import DropRule
from streams.transforms.encrypt import EncryptRule
from streams.transforms.gaussian import GaussianRule
from streams.transforms.generalize import GeneralizeRule
from streams.transforms.keep import KeepRule
from streams.transforms.laplace import LaplaceRule
from streams.transforms.mask import MaskRule
from streams.transforms.nullify import NullifyRule
from streams.transforms.randomized_response import RandomizedResponseRule
from streams.transforms.redact import RedactRule
from streams.transforms.replace import ReplaceRule
from streams.transforms.scrub_text import ScrubTextRule
from streams.transforms.tokenize import TokenizeRule
from streams.transforms.truncate import TruncateRule

FieldRule = Annotated[
    KeepRule
    | DropRule
    | TokenizeRule
    | MaskRule
    | GeneralizeRule
    | NullifyRule
    | ReplaceRule
    | RedactRule
    | TruncateRule
    | EncryptRule
    | DateShiftRule
    | LaplaceRule
    | GaussianRule
    | RandomizedResponseRule
    | ScrubTextRule,
    Field(discriminator="transform"),
]
