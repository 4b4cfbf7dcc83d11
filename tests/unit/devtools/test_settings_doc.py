"""The README's configuration tables are the settings models' own: generated, and compared here."""

from __future__ import annotations

from pydantic_settings import BaseSettings

from streams.devtools.settings_doc import MODELS, markdown_tables, readme_block
from streams.settings import REPO_ROOT


def test_readme_tables_match_the_settings_models() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    assert readme_block(readme) == markdown_tables(), "run `make readme` to regenerate the tables"


def test_every_setting_is_in_the_tables_once() -> None:
    tables = markdown_tables()
    for _, model in MODELS:
        for name, info in model.model_fields.items():
            nested = isinstance(info.default_factory, type) and issubclass(info.default_factory, BaseSettings)
            assert tables.count(f"`CRM_ANON_{name.upper()}`") == (0 if nested else 1), name


def test_every_setting_says_what_it_is() -> None:
    for _, model in MODELS:
        for name, info in model.model_fields.items():
            assert info.description, f"{model.__name__}.{name} has no description"
