"""The prosecutor: an attacker who holds the raw quasi-identifiers of the whole population and looks for a
target's published record.

For each published subject record the attacker keeps the population members it cannot exclude (its
candidates; their number is the record's ``k``), then guesses:

- deterministic transforms (keep, generalize, truncate, mask, replace, ...): the attacker applies the policy
  (it is not secret) to each member's raw value and keeps the members whose result equals the published value;
- keyed tokens and deterministic encryption (no key): only frequencies are visible, so a member is kept if its
  raw value occurs in the population as often as the published token occurs in the output (rank matching);
  a ciphertext also shows its length (the plaintext's typed encoding plus tag, and nonce when randomized), so
  for ``encrypt`` the member's raw value must also encrypt to a payload of that length. A randomized
  ciphertext is fresh each time: its length is all it shows;
- noise (laplace, gaussian) and date_shift: a member is kept if its raw value lies within the noise's 99th
  percentile distance of the published value; among the candidates the attacker picks the nearest (distances in
  units of that width summed over the noisy fields), breaking ties at random;
- randomized response: no member is excluded; a suppressed (or null) published field excludes nobody.

``expected_reidentification`` is the mean over records of the chance that the guess is the target (1/k with no
noisy fields); ``unique`` the share of records whose only candidate is the target.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from streams.policy.model import SourcePolicy
from streams.risk.records import SubjectRecord, as_number
from streams.transforms.encrypt import NONCE_BYTES, TAG_BYTES, DecryptionError, parse_token

NOISY = frozenset({"laplace", "gaussian", "date_shift"})
KEYED = frozenset({"tokenize", "encrypt"})
IGNORED = frozenset({"randomized_response"})
FREE_TEXT = frozenset({"scrub_text"})  # not in a population list: never an attacker's quasi-identifier
K_BUCKETS = ((1, 1), (2, 2), (3, 4), (5, 9), (10, 19), (20, 49), (50, 99), (100, None))
NOISE_QUANTILE = 99.0


def transform_of(source: SourcePolicy, path: str) -> str:
    rule = source.fields.get(path)
    return str(getattr(rule, "transform", "drop")) if rule is not None else "drop"


def is_randomized_encryption(source: SourcePolicy, path: str) -> bool:
    rule = source.fields.get(path)
    return transform_of(source, path) == "encrypt" and getattr(rule, "mode", None) == "randomized"


def payload_length(value: Any, randomized: bool) -> int | None:
    """The payload length ``encrypt`` gives a raw value: (nonce,) typed encoding, tag."""
    if value is None:
        return None
    if isinstance(value, str):
        body = 1 + len(value.encode())
    elif isinstance(value, bytes):
        body = 1 + len(value)
    else:
        body = 9  # "i" + 8 bytes: integers do not reveal their magnitude
    return (NONCE_BYTES if randomized else 0) + body + TAG_BYTES


def ciphertext_length(token: Any) -> int | None:
    if not isinstance(token, str):
        return None
    try:
        return len(parse_token(token)[2])
    except DecryptionError:
        return None


def attacker_fields(source: SourcePolicy, subjects: Sequence[SubjectRecord], known: Sequence[str] | None) -> list[str]:
    """What the attacker holds: the policy's list for the source, else every raw row field that is not
    free text (the strongest prosecutor short of one holding the notes)."""
    present = {path for s in subjects for path in s.raw}
    if known is not None:
        return [p for p in known if p in present]
    return sorted(p for p in present if transform_of(source, p) not in FREE_TEXT)


def k_bucket(k: int) -> str:
    for low, high in K_BUCKETS:
        if high is None and k >= low:
            return f"{low}+"
        if high is not None and low <= k <= high:
            return str(low) if low == high else f"{low}-{high}"
    return "0"


@dataclass(slots=True)
class Linkage:
    records: int = 0
    unique: float = 0.0
    expected_reidentification: float = 0.0
    k_distribution: dict[str, int] = field(default_factory=dict)
    median_k: float = 0.0
    fields: dict[str, str] = field(default_factory=dict)  # attacker field -> how it is matched


def _frequency(values: Sequence[Any]) -> list[int]:
    counts = Counter(repr(v) for v in values if v is not None)
    return [counts[repr(v)] if v is not None else 0 for v in values]


def link(source: SourcePolicy, subjects: Sequence[SubjectRecord], known: Sequence[str] | None = None) -> Linkage:
    fields = attacker_fields(source, subjects, known)
    n = len(subjects)
    result = Linkage(records=n)
    if n == 0:
        return result
    exact: list[str] = []
    noisy: list[str] = []
    for path in fields:
        kind = transform_of(source, path)
        if kind in IGNORED or kind == "drop":
            continue
        (noisy if kind in NOISY else exact).append(path)
        if kind == "encrypt":
            result.fields[path] = "length" if is_randomized_encryption(source, path) else "frequency, length"
        else:
            result.fields[path] = "nearest" if kind in NOISY else "frequency" if kind in KEYED else "equal"
    # Signatures: what the attacker computes for every population member, and what it reads off the output.
    sig: dict[str, list[Any]] = {}
    seen: dict[str, list[Any]] = {}
    for path in exact:
        if result.fields[path] == "length":
            sig[path] = [payload_length(s.raw.get(path), True) for s in subjects]
            seen[path] = [None if path in s.suppressed else ciphertext_length(s.out.get(path)) for s in subjects]
        elif result.fields[path] == "frequency, length":
            frequency = _frequency([s.raw.get(path) for s in subjects])
            sig[path] = [(f, payload_length(s.raw.get(path), False)) for f, s in zip(frequency, subjects, strict=True)]
            counts = _frequency([s.out.get(path) for s in subjects])
            seen[path] = [
                None if path in s.suppressed or s.out.get(path) is None else (f, ciphertext_length(s.out.get(path)))
                for f, s in zip(counts, subjects, strict=True)
            ]
        elif result.fields[path] == "frequency":
            sig[path] = _frequency([s.raw.get(path) for s in subjects])
            seen[path] = _frequency([s.out.get(path) for s in subjects])
            # A suppressed token is null in the output: its frequency there says nothing.
            for i, s in enumerate(subjects):
                if s.out.get(path) is None:
                    seen[path][i] = None
        else:
            sig[path] = [repr(s.clear.get(path)) for s in subjects]
            seen[path] = [
                None if path in s.suppressed or s.out.get(path) is None else repr(s.out.get(path)) for s in subjects
            ]
    raw_num: dict[str, np.ndarray[Any, Any]] = {}
    out_num: dict[str, list[float | None]] = {}
    width: dict[str, float] = {}
    for path in noisy:
        raw_values = [as_number(s.raw.get(path)) for s in subjects]
        out_values = [None if path in s.suppressed else as_number(s.out.get(path)) for s in subjects]
        gaps = [abs(o - r) for r, o in zip(raw_values, out_values, strict=True) if r is not None and o is not None]
        width[path] = max(float(np.percentile(gaps, NOISE_QUANTILE)), 1e-9) if gaps else 1e-9
        raw_num[path] = np.array([np.nan if v is None else v for v in raw_values], dtype=float)
        out_num[path] = out_values

    indexes: dict[tuple[str, ...], dict[tuple[Any, ...], list[int]]] = {}
    success = 0.0
    unique = 0
    ks: list[int] = []
    for i in range(n):
        constrained = tuple(p for p in exact if seen[p][i] is not None)
        index = indexes.get(constrained)
        if index is None:
            index = {}
            for j in range(n):
                index.setdefault(tuple(sig[p][j] for p in constrained), []).append(j)
            indexes[constrained] = index
        group = index.get(tuple(seen[p][i] for p in constrained), [])
        members = np.array(group, dtype=int)
        score = np.zeros(len(members))
        for path in noisy:
            published = out_num[path][i]
            if published is None or len(members) == 0:
                continue
            distance = np.abs(raw_num[path][members] - published) / width[path]
            keep = ~(distance > 1.0)  # NaN (raw null) stays: the attacker cannot exclude it
            members, score = members[keep], score[keep] + np.nan_to_num(distance[keep])
        k = len(members)
        ks.append(k)
        if k == 0 or i not in set(members.tolist()):
            continue
        if k == 1:
            unique += 1
        if noisy and k > 1:
            best = score.min()
            ties = members[score <= best + 1e-12]
            success += (1.0 / len(ties)) if i in set(ties.tolist()) else 0.0
        else:
            success += 1.0 / k
    result.unique = unique / n
    result.expected_reidentification = success / n
    result.k_distribution = dict(Counter(k_bucket(k) for k in ks))
    result.median_k = float(np.median(ks))
    return result
