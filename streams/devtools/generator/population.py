"""The generator's population for ``crm-anonymizer evaluate`` (streams/risk).

Of size ``n``: ``n`` contacts and ``n / 5`` accounts in each system (a Debezium snapshot, then ``n / 2``
Debezium changes; Salesforce account and contact creates, then ``n / 2`` Salesforce changes), seeds 7 and 11
as in the demo, with the marginals of ``streams.devtools.generator.marginals``.
"""

from __future__ import annotations

from collections.abc import Iterator

from streams.devtools.generator.debezium import CdcEvent, CrmCdcGenerator
from streams.devtools.generator.salesforce import ACCOUNT_TOPIC, CONTACT_TOPIC, SalesforceCdcGenerator
from streams.risk.population import Population, from_events


def generated_events(size: int) -> Iterator[CdcEvent]:
    debezium = CrmCdcGenerator(seed=7)
    yield from debezium.snapshot(size, max(1, size // 5))
    for _ in range(size // 2):
        yield from debezium.change()
    salesforce = SalesforceCdcGenerator(seed=11)
    for _ in range(max(1, size // 5)):
        yield salesforce.create(ACCOUNT_TOPIC)
    for _ in range(size):
        yield salesforce.create(CONTACT_TOPIC)
    for _ in range(size // 2):
        yield salesforce.change()


def generated(size: int) -> Population:
    """The generator's population of ``size`` (see the module docstring)."""
    from streams.devtools.progress import tracked

    total = size + max(1, size // 5) + size // 2 + max(1, size // 5) + size + size // 2  # about: changes vary
    events = tracked(generated_events(size), total, "generating the population")
    return from_events(events, f"generator, size {size} (seeds 7 and 11)")
