"""IP_ADDRESS detector: IPv4 dotted quads and IPv6 addresses (compressed, full, IPv4-mapped, with a zone).

Candidates are confirmed with :mod:`ipaddress`. Any four-part dotted quad whose parts are 0-255 *is* an IPv4
address, so a version string written as one (``1.2.3.4``) is redacted too; three-part versions (``2.7.3``)
and quads with a part over 255 are not. Leading zeros (``010.001.002.003``) are accepted. Colon-separated
times (``10:30:00``) and MAC addresses are rejected by the IPv6 parser.
"""

from __future__ import annotations

import ipaddress
import re

from streams.transforms.pii.base import Detector, Hit, single

IP_ADDRESS = "IP_ADDRESS"

IPV4_PATTERN = r"(?<![\w.])\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\w]|\.\d)"
IPV6_PATTERN = (
    r"(?<![\w:.])(?=[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:)[0-9A-Fa-f:]{2,39}"
    r"(?:(?<=:)\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})?(?:%[0-9A-Za-z_.\-]+)?(?![\w:])"
)

_HEX = frozenset("0123456789abcdefABCDEF")
_ADDRESS_START = re.compile(r"[0-9A-Fa-f:]{0,39}\Z")
_IPV6 = re.compile(IPV6_PATTERN)


def locate_ipv6(text: str, colon: int) -> tuple[int, int] | None:
    """The IPv6 candidate around the colon at ``colon``: it starts at the run of hex digits and colons
    before it."""
    back = _ADDRESS_START.search(text, max(0, colon - 39), colon)
    start = back.start() if back else colon
    match = _IPV6.match(text, start)
    return (start, match.end()) if match and match.end() > colon else None


def is_ipv4(candidate: str) -> bool:
    parts = candidate.split(".")
    if len(parts) != 4 or not all(part.isdigit() and int(part) <= 255 for part in parts):
        return False
    try:
        ipaddress.IPv4Address(".".join(str(int(part)) for part in parts))
    except ValueError:
        return False
    return True


def is_ipv6(candidate: str) -> bool:
    if not any(ch in _HEX for ch in candidate.partition("%")[0]):
        return False  # "::" alone: a separator in prose, not an address worth redacting
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return True


def _ipv4(text: str, start: int, end: int) -> Hit | None:
    return single(start, end, IP_ADDRESS) if is_ipv4(text[start:end]) else None


def _ipv6(text: str, start: int, end: int) -> Hit | None:
    return single(start, end, IP_ADDRESS) if is_ipv6(text[start:end]) else None


def network_detectors(entities: frozenset[str]) -> list[Detector]:
    if IP_ADDRESS not in entities:
        return []
    return [
        Detector("ipv6", IP_ADDRESS, "colon", IPV6_PATTERN, _ipv6, locate_ipv6),
        Detector("ipv4", IP_ADDRESS, "digit", IPV4_PATTERN, _ipv4, short=True),
    ]
