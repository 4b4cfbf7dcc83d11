"""Output-schema registration against the real Apicurio registry when several workers create a subject at once.

Replicas of the worker (or its pipeline processes) starting on a new output topic all find the subject missing
and write its compatibility rule and first version together. Apicurio refuses the losing writes with 409 (seen
in CI: "A rule named 'COMPATIBILITY' already exists."), which once dead-lettered a whole partition as
``registry.output_schema_rejected``. The race itself is timing-bound (a cold registry widens it; the unit tests
replay it deterministically); here every writer must end with the one id, and a truly incompatible schema must
still be refused by the real registry after the conflict lookup.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from streams.errors import RegistryError
from streams.kafka.config import registry_client
from streams.kafka.registry import SchemaCache
from streams.settings import Settings

pytestmark = pytest.mark.integration

WRITERS = 4
SUBJECTS = 12


def record(*fields: str) -> dict[str, object]:
    return {"type": "record", "name": "it.Out", "fields": [{"name": f, "type": "string"} for f in fields]}


def test_writers_creating_one_subject_at_once_all_get_its_id(live_settings: Settings) -> None:
    subjects = [f"it-race-{uuid.uuid4().hex[:8]}-value" for _ in range(SUBJECTS)]
    caches = [SchemaCache(registry_client(live_settings.connection)) for _ in range(WRITERS)]

    async def create(subject: str) -> list[int]:
        return list(
            await asyncio.gather(
                *(c.register(subject, record("a"), new_subject_compatibility="BACKWARD") for c in caches)
            )
        )

    async def run() -> list[list[int]]:
        return [await create(s) for s in subjects]

    ids = asyncio.run(run())
    assert all(len(set(per_subject)) == 1 for per_subject in ids), ids
    client = registry_client(live_settings.connection)
    for subject in subjects:
        assert client.get_versions(subject) == [1]
        assert client.get_compatibility(subject) == "BACKWARD"


def test_an_incompatible_schema_is_still_refused_by_the_real_registry(live_settings: Settings) -> None:
    subject = f"it-race-{uuid.uuid4().hex[:8]}-value"
    cache = SchemaCache(registry_client(live_settings.connection))

    async def run() -> None:
        await cache.register(subject, record("a"), new_subject_compatibility="BACKWARD")
        # a new required field without a default: a BACKWARD break
        await cache.register(subject, record("a", "b"), new_subject_compatibility="BACKWARD")

    with pytest.raises(RegistryError) as info:
        asyncio.run(run())
    assert info.value.http_status == 409
    assert registry_client(live_settings.connection).get_versions(subject) == [1]
