"""The local certificates: a CA, a broker certificate for localhost, a client certificate; private keys private."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from cryptography import x509

from streams.devtools.services import tls


def test_local_pki(tmp_path: Path) -> None:
    pki = tls.ensure_local_pki(tmp_path)
    assert pki.complete()
    assert (pki.client_key.stat().st_mode & 0o077) == 0 and (pki.broker_keystore.stat().st_mode & 0o077) == 0
    context = ssl.create_default_context(cafile=str(pki.ca_cert))
    context.load_cert_chain(str(pki.client_cert), str(pki.client_key))
    broker = x509.load_pem_x509_certificates(pki.broker_keystore.read_bytes())[0]
    names = broker.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    before = pki.ca_cert.read_bytes()
    assert tls.ensure_local_pki(tmp_path) == pki and pki.ca_cert.read_bytes() == before  # kept, not remade


def test_certificates_about_to_expire_are_made_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tls, "VALID_DAYS", 0)  # valid for 0 days: expires within a day
    first = tls.ensure_local_pki(tmp_path)
    before = first.ca_cert.read_bytes()
    assert not first.complete()
    monkeypatch.setattr(tls, "VALID_DAYS", 30)
    again = tls.ensure_local_pki(tmp_path)
    assert again.complete() and again.ca_cert.read_bytes() != before
