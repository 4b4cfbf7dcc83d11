"""Load and validate a policy file; errors name the file, the source and the field path."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from streams.errors import PolicyError
from streams.policy.model import Policy


@dataclass(frozen=True, slots=True)
class LoadedPolicy:
    policy: Policy
    content_hash: str  # sha256 of the file bytes: the audit trail pins the exact policy text
    path: Path


def _location(policy_data: object, loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    if len(loc) >= 2 and loc[0] == "sources" and isinstance(loc[1], int) and isinstance(policy_data, dict):
        sources = policy_data.get("sources") or []
        entry = sources[loc[1]] if isinstance(sources, list) and loc[1] < len(sources) else None
        name = entry.get("name", f"#{loc[1]}") if isinstance(entry, dict) else f"#{loc[1]}"
        parts.append(f"source {name!r}")
        rest = loc[2:]
        if len(rest) >= 2 and rest[0] in ("fields", "key"):
            parts.append(f"field {'key.' if rest[0] == 'key' else ''}{rest[1]}")
            rest = rest[2:]
        if rest:
            parts.append(".".join(str(p) for p in rest))
    else:
        parts.append(".".join(str(p) for p in loc) or "top level")
    return ", ".join(parts)


def parse_policy(text: bytes, path: Path) -> LoadedPolicy:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: not valid YAML: {exc}") from None
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_location(data, tuple(err['loc']))}: {err['msg']}" for err in exc.errors(include_input=False)
        )
        raise PolicyError(f"{path}: invalid policy: {problems}") from None
    return LoadedPolicy(policy=policy, content_hash=hashlib.sha256(text).hexdigest(), path=path)


def load_policy(path: Path) -> LoadedPolicy:
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read policy: {exc.strerror}") from None
    return parse_policy(text, path)
