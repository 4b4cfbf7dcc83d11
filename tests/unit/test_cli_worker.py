"""The worker refuses to start on missing keys with one clear line (no traceback, no key material)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from streams.cli import main
from streams.settings import get_settings


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CRM_ANON_TOKENIZATION_KEY": ""}, "CRM_ANON_TOKENIZATION_KEY is not configured"),
        ({"CRM_ANON_TOKENIZATION_KEY": "ab" * 8}, "CRM_ANON_TOKENIZATION_KEY must be at least 32 bytes"),
        (
            {"CRM_ANON_TOKENIZATION_KEY": "ab" * 32, "CRM_ANON_DEAD_LETTER_KEY": ""},
            "CRM_ANON_DEAD_LETTER_KEY is not configured",
        ),
    ],
)
def test_worker_refuses_missing_or_short_keys(env: dict[str, str], message: str) -> None:
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["worker"], env=env)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert "abab" not in result.output  # never the key
