"""The policy file format (YAML), validated with pydantic.

A policy names, per CDC source topic, how every field is anonymized. Anything a policy does not name is
dropped from the output and reported in the audit event (fail closed).

    id: crm-default
    version: 1
    sources:
      - name: contacts
        topic: crm.public.contacts
        envelope: debezium
        output_topic: anon.crm.public.contacts
        key:                       # optional; a key field without a rule here uses the row rule of that name
          id: {transform: tokenize, scope: contact}
        fields:
          id: {transform: tokenize, scope: contact}
          email: {transform: tokenize, scope: email, normalize: lower}
          first_name: {transform: mask, keep_first: 1}
          birth_date: {transform: generalize, to: year}
          notes: drop              # shorthand for {transform: drop}
          lifetime_value: keep
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, field_validator, model_validator

from streams.envelope.kinds import EnvelopeKind
from streams.transforms.registry import FieldRule


def _expand_shorthand(rules: Any) -> Any:
    if isinstance(rules, dict):
        return {name: {"transform": rule} if isinstance(rule, str) else rule for name, rule in rules.items()}
    return rules


Granularity = Literal["second", "minute", "hour", "day", "week", "month"]
#: What a policy may say of one envelope field or the Kafka timestamp: keep it, drop it, or (times) coarsen it.
MetadataAction = Literal["keep", "drop", "second", "minute", "hour", "day", "week", "month"]


class MetadataPolicy(BaseModel):
    """Envelope metadata and the output's Kafka timestamp, under policy like data fields.

    Paths: ``envelope.<field>`` for a top-level envelope field (Debezium ``envelope.ts_ms``,
    ``envelope.transaction``), ``envelope.source.<field>`` for the Debezium source block,
    ``envelope.header.<field>`` for the Salesforce ChangeEventHeader, ``kafka.timestamp`` for the output
    record's timestamp. Defaults (when ``fields`` is silent): every time is coarsened to ``time``, every
    position (LSN, binlog file/pos, txId, commitNumber, ...) is dropped; technical fields (connector, db,
    table, ...) are kept. The README's envelope tables list each field and its default.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    time: Granularity | Literal["keep"] = Field(
        "hour", description="Default for every envelope time and the Kafka timestamp: a granularity, or keep."
    )
    positions: Literal["drop", "keep"] = Field("drop", description="Default for envelope positions.")
    fields: dict[str, MetadataAction] = Field(default_factory=dict, description="Per-path overrides.")


class Coarsening(BaseModel):
    """One level coarser than the published value, tried before suppression: exactly one of the two."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prefix_length: PositiveInt | None = Field(
        None, description='Strings: the first N characters ("1987-04" -> "1987").'
    )
    bucket_width: float | None = Field(None, gt=0, description="Numbers: the lower bound of the bucket of width W.")

    @model_validator(mode="after")
    def _exactly_one(self) -> Coarsening:
        if (self.prefix_length is None) == (self.bucket_width is None):
            raise ValueError("give exactly one of prefix_length, bucket_width")
        return self


class KAnonymity(BaseModel):
    """Streaming k-anonymity for one source: a published record whose quasi-identifier combination has been
    published fewer than ``k`` times before goes out with those fields suppressed (never held back)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    k: int = Field(ge=2, description="Smallest group size a published quasi-identifier combination may have.")
    quasi_identifiers: list[str] = Field(
        min_length=1, description="Row field paths (as in ``fields``) an attacker may know about a person."
    )
    generalize: dict[str, Coarsening] = Field(
        default_factory=dict,
        description="Per quasi-identifier, one coarser level tried before the record's quasi-identifiers are"
        " suppressed.",
    )

    suppress: list[str] | None = Field(
        None,
        description="The quasi-identifiers set to null when a class is too small (default: all). Those left out"
        " are published even in a small class (say a country whose counts must stay exact): the evaluation"
        " measures what that costs.",
    )

    @model_validator(mode="after")
    def _levels_of_quasi_identifiers(self) -> KAnonymity:
        for what, paths in (("generalize", list(self.generalize)), ("suppress", self.suppress or [])):
            extra = sorted(set(paths) - set(self.quasi_identifiers))
            if extra:
                raise ValueError(f"{what} names fields that are not quasi-identifiers: {extra}")
        if self.suppress is not None and not self.suppress:
            raise ValueError("suppress must name at least one quasi-identifier (or be left out: all of them)")
        return self


class RiskThresholds(BaseModel):
    """What ``crm-anonymizer policy lint --risk`` and ``evaluate`` accept (shares, 0..1), per source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_unique: float = Field(0.02, ge=0, le=1, description="Largest share of output records unique on QIs.")
    max_reidentification: float = Field(
        0.02, ge=0, le=1, description="Largest expected re-identification rate (prosecutor model)."
    )
    attacker_knows: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Per source name, the raw row fields the evaluation's attacker holds (default: every row"
        " field but free text).",
    )
    joins: dict[str, str] = Field(
        default_factory=dict,
        description="Token scopes meant to join fields of different sources, each with the reason it must.",
    )


class SourcePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    topic: str
    envelope: EnvelopeKind
    output_topic: str
    key: dict[str, FieldRule] = Field(default_factory=dict)
    fields: dict[str, FieldRule]
    default: Literal["drop", "keep"] = Field(
        "drop", description="What happens to fields no rule names: drop (fail closed) or keep (linter warns)."
    )
    metadata: MetadataPolicy = Field(default_factory=MetadataPolicy)
    k_anonymity: KAnonymity | None = None

    @property
    def k_suppressible_paths(self) -> frozenset[str]:
        """The fields streaming k-anonymity may suppress (their outputs are nullable)."""
        if self.k_anonymity is None:
            return frozenset()
        return frozenset(self.k_anonymity.suppress or self.k_anonymity.quasi_identifiers)

    @field_validator("key", "fields", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return _expand_shorthand(value)

    @model_validator(mode="after")
    def _distinct_topics(self) -> SourcePolicy:
        if self.topic == self.output_topic:
            raise ValueError("output_topic must differ from topic (raw and anonymized data never share a topic)")
        return self

    @model_validator(mode="after")
    def _published_quasi_identifiers(self) -> SourcePolicy:
        if self.k_anonymity is None:
            return self
        for path in self.k_anonymity.quasi_identifiers:
            rule = self.fields.get(path)
            if rule is None:
                raise ValueError(f"k_anonymity quasi-identifier {path!r} has no rule in fields")
            if getattr(rule, "transform", "") == "drop":
                raise ValueError(f"k_anonymity quasi-identifier {path!r} is dropped: nothing to count")
        return self


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    version: PositiveInt
    description: str = ""
    sources: list[SourcePolicy] = Field(min_length=1)
    risk: RiskThresholds = Field(default_factory=RiskThresholds)

    @model_validator(mode="after")
    def _unique_sources(self) -> Policy:
        seen: dict[str, str] = {}
        for source in self.sources:
            if source.topic in seen:
                raise ValueError(
                    f"topic {source.topic!r} appears in sources {seen[source.topic]!r} and {source.name!r};"
                    " each source topic may appear only once"
                )
            seen[source.topic] = source.name
        return self

    def source_for_topic(self, topic: str) -> SourcePolicy | None:
        return next((s for s in self.sources if s.topic == topic), None)
