from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from streams.errors import AnonymizationError, ReasonCode
from streams.transforms.base import BatchContext
from streams.transforms.mask import FIXED_MASK_LENGTH, Mask


def test_email_hides_local_part_and_domain_by_default() -> None:
    out = Mask(keep_first=1).mask("ada.lovelace@example.com")
    assert out == "a****@****.com"
    assert "example" not in out
    assert "lovelace" not in out


def test_email_keep_domain() -> None:
    out = Mask(keep_first=1, keep_domain=True).mask("ada.lovelace@example.com")
    assert out == "a****@example.com"


def test_forced_email_style_without_at_falls_back_to_plain() -> None:
    assert Mask(style="email").mask("notanemail") == "n****"


def test_phone_masks_all_digits_but_the_last_n() -> None:
    out = Mask(style="phone", keep_last=2).mask("+44 20 7946 0958")
    assert out == "+** ** **** **58"
    out3 = Mask(style="phone", keep_last=3).mask("(202) 555-0143")
    assert out3 == "(***) ***-*143"


def test_auto_detects_phone() -> None:
    assert Mask().mask("+1-202-555-0143") == "+*-***-***-**43"


def test_phone_with_too_few_digits_is_masked_as_plain() -> None:
    # 4 digits are not more than keep_last + 3: the plain rule applies (first 1, last 2, fixed run).
    assert Mask(style="phone", keep_last=2).mask("12-34") == "1****34"
    assert Mask(style="phone", keep_last=2).mask("123") == "****"


def test_plain_string_keeps_first_and_fixed_run() -> None:
    assert Mask(keep_first=1).mask("Lovelace") == "L****"
    assert Mask(keep_first=2, keep_last=1).mask("Lovelace") == "Lo****e"


def test_preserve_length() -> None:
    assert Mask(keep_first=1, preserve_length=True).mask("Lovelace") == "L*******"


def test_custom_char() -> None:
    assert Mask(keep_first=1, char="#").mask("Lovelace") == "L####"


@pytest.mark.parametrize("text", ["", "A", "Ab"])
def test_short_strings_are_fully_masked(text: str) -> None:
    out = Mask(keep_first=1).mask(text)
    assert out == "*" * FIXED_MASK_LENGTH
    assert out != text


@pytest.mark.parametrize(
    ("keep_first", "keep_last", "text"), [(2, 0, "Ada"), (1, 1, "Ada"), (2, 2, "Adam"), (3, 0, "Bob")]
)
def test_strings_that_would_keep_too_much_are_fully_masked(keep_first: int, keep_last: int, text: str) -> None:
    out = Mask(keep_first=keep_first, keep_last=keep_last).mask(text)
    assert out == "*" * FIXED_MASK_LENGTH
    assert not any(ch in out for ch in text)


def test_three_letters_keep_only_the_first() -> None:
    assert Mask(keep_first=1).mask("Ada") == "A****"


def test_short_strings_fully_masked_with_preserved_length() -> None:
    assert Mask(keep_first=2, keep_last=1, preserve_length=True).mask("Adam") == "****"


def test_fixed_mask_hides_length() -> None:
    m = Mask(keep_first=1)
    assert len(m.mask("Bo" + "b" * 3)) == len(m.mask("Bo" + "b" * 30))


@pytest.mark.parametrize("value", [12345, 3.5, True, b"bytes", None])
def test_non_string_is_wrong_type_without_value_in_message(value: object) -> None:
    with pytest.raises(AnonymizationError) as info:
        Mask().apply([value], BatchContext())
    assert info.value.code is ReasonCode.WRONG_TYPE
    assert str(info.value.code) == "transform.wrong_type"
    assert type(value).__name__ in info.value.detail
    if value is not None:
        assert repr(value) not in str(info.value)
        assert str(value) not in str(info.value)


def test_non_string_message_does_not_leak_a_distinctive_number() -> None:
    with pytest.raises(AnonymizationError) as info:
        Mask().mask(918273645)
    assert "918273645" not in str(info.value)


def test_output_type_is_string_and_only_strings_fit() -> None:
    from streams.errors import PolicyError

    assert Mask().output_type("string", "first_name") == "string"
    with pytest.raises(PolicyError, match="first_name"):
        Mask().output_type("long", "first_name")


# The invariant the module documents: "The output never equals the input."
@pytest.mark.parametrize(
    ("mask", "text"),
    [
        (Mask(keep_first=1), "a****"),  # looks already masked
        (Mask(keep_first=1), "a****@****.com"),
        (Mask(keep_first=0), "****"),
    ],
)
def test_output_differs_even_when_input_looks_masked(mask: Mask, text: str) -> None:
    assert mask.mask(text) != text


def has_something_to_hide(mask: Mask, text: str) -> bool:
    """False only when a length-preserving mask has nothing at all to cover (empty value or empty email local part
    with the domain kept by choice): then the output is necessarily the input."""
    if not mask.preserve_length:
        return True
    if "@" in text and mask.keep_domain and mask.style in ("auto", "email"):
        return text.rpartition("@")[0] != ""
    return text != ""


masks = st.builds(
    Mask,
    keep_first=st.integers(0, 8),
    keep_last=st.integers(0, 8),
    style=st.sampled_from(["auto", "plain", "email", "phone"]),
    keep_domain=st.booleans(),
    preserve_length=st.booleans(),
)


@settings(max_examples=500, deadline=None)
@given(masks, st.text())
def test_output_never_equals_input(mask: Mask, text: str) -> None:
    # Inputs made of the mask character itself are covered by the explicit test above.
    assume(mask.char not in text)
    assume(has_something_to_hide(mask, text))
    assert mask.mask(text) != text


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=8))
def test_long_plain_text_is_not_recoverable(text: str) -> None:
    assume("*" not in text)
    out = Mask(keep_first=1, style="plain").mask(text)
    assert text not in out
    assert len(out) == 1 + FIXED_MASK_LENGTH


def test_phone_mask_releases_no_text_after_the_number() -> None:
    """The reported leak: every non-digit was kept (``+* *** *** **00 (home of Jane Doe, jane@doe.com)``)."""
    value = "+44 20 7946 0000 (home of Jane Doe, jane@doe.com)"
    out = Mask(style="phone", keep_last=2).mask(value)
    assert out.startswith("+** ** **** **00")
    for word in ("home", "Jane", "Doe", "jane", "doe.com", "@", ","):
        assert word not in out
    assert set(out) <= set("+*() 0")
    assert "12" not in Mask(style="phone", keep_last=2).mask("(202) 555-0143 ext 12")
