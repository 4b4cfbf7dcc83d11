from __future__ import annotations

from streams.devtools.leaks import LeakScanner


def test_finds_needles_and_counts_per_place() -> None:
    scanner = LeakScanner(["ada@example.com", "+44 20 7946 0958"])
    assert scanner.scan(b'{"email": "ada@example.com"}', "out") == 1
    assert scanner.scan(b"ada@example.com and ada@example.com, +44 20 7946 0958", "out") == 3
    assert scanner.scan(b"\x00\x00\x00\x00\x01\x1eada@example.com", "dlq") == 1
    assert scanner.scan(b"nothing here", "audit") == 0
    assert scanner.found == {"out": 4, "dlq": 1}
    assert scanner.total == 5


def test_utf8_non_ascii_needles_match_raw_bytes() -> None:
    names = ["Zoë Saldaña", "Jürgen Groß", "山田太郎"]
    scanner = LeakScanner(names)
    payload = "prefix Zoë Saldaña | 山田太郎 | Jurgen Gross".encode()
    assert scanner.scan(payload, "out") == 2
    assert scanner.scan("Jürgen Groß".encode(), "log") == 1
    # the same text in another encoding is different bytes and is not claimed as a UTF-8 hit
    assert scanner.scan("Jürgen Groß".encode("latin-1"), "latin") == 0
    assert scanner.found == {"out": 2, "log": 1}


def test_no_needles_and_none_payloads() -> None:
    empty = LeakScanner([])
    assert empty.scan(b"anything", "x") == 0
    assert empty.total == 0
    scanner = LeakScanner(["secret-value"])
    assert scanner.scan(None, "x") == 0
    assert scanner.found == {}


def test_duplicate_and_overlapping_needles() -> None:
    scanner = LeakScanner(["lovelace", "lovelace", "ada.lovelace"])
    assert scanner.scan(b"ada.lovelace", "out") == 2  # both identifiers occur
    assert scanner.scan(b"LOVELACE", "out") == 0  # exact bytes only
    assert scanner.found == {"out": 2}


def test_found_never_holds_the_identifier() -> None:
    scanner = LeakScanner(["ada@example.com"])
    scanner.scan(b"ada@example.com", "out")
    assert "ada@example.com" not in repr(scanner.found)
