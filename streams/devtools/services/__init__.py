"""Local development services: a single-node Kafka (KRaft) broker and an Apicurio schema registry.

``streams.devtools.services.local`` starts, stops and reports on them; ``deploy/local/README.md`` describes them.
"""

from __future__ import annotations

from streams.errors import CrmAnonymizerError


class LocalServiceError(CrmAnonymizerError, RuntimeError):
    """A local service could not be fetched, started or stopped. The message says which and why."""
