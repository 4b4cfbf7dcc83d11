"""Certificates for the local secured listeners, made at start with ``cryptography`` (development only).

One throw-away CA signs the broker certificate (names ``localhost`` and ``127.0.0.1``) and a client
certificate for mutual TLS. Files are PEM: Kafka reads them as ``PEM`` key- and truststores, librdkafka and
Python's ``ssl`` read them directly. Private keys are unencrypted PKCS#8 and readable by the owner only.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_DAYS = 30


@dataclass(frozen=True)
class Pki:
    """Where the local certificates are."""

    ca_cert: Path  # trust anchor for clients and for the broker's client-certificate check
    broker_keystore: Path  # broker key + certificate chain, one PEM file
    client_cert: Path
    client_key: Path

    @classmethod
    def under(cls, directory: Path) -> Pki:
        return cls(
            ca_cert=directory / "ca.pem",
            broker_keystore=directory / "broker-keystore.pem",
            client_cert=directory / "client.pem",
            client_key=directory / "client.key",
        )

    def complete(self) -> bool:
        """All files there, and no certificate expires within a day (else they are made again)."""
        files = (self.ca_cert, self.broker_keystore, self.client_cert, self.client_key)
        if not all(p.is_file() for p in files):
            return False
        soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        certificates = [
            *x509.load_pem_x509_certificates(self.ca_cert.read_bytes()),
            *x509.load_pem_x509_certificates(self.broker_keystore.read_bytes()),
            *x509.load_pem_x509_certificates(self.client_cert.read_bytes()),
        ]
        return all(c.not_valid_after_utc > soon for c in certificates)


@dataclass(frozen=True)
class Authority:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def make_authority(common_name: str = "crm-anonymizer local CA") -> Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return Authority(key, cert)


def issue(
    authority: Authority, common_name: str, *, server: bool, hosts: tuple[str, ...] = ()
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A leaf certificate: ``server`` for a listener (``hosts`` as DNS/IP names), else a client certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(authority.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
    )
    if hosts:
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return key, builder.sign(authority.key, hashes.SHA256())


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    tmp.replace(path)


def write_authority(authority: Authority, path: Path) -> None:
    _write(path, authority.pem())


def ensure_local_pki(directory: Path, hosts: tuple[str, ...] = ("localhost", "127.0.0.1")) -> Pki:
    """Create the CA, broker and client certificates under ``directory`` unless they are all there."""
    pki = Pki.under(directory)
    if pki.complete():
        return pki
    authority = make_authority()
    broker_key, broker_cert = issue(authority, "crm-anonymizer local broker", server=True, hosts=hosts)
    client_key, client_cert = issue(authority, "crm-anonymizer local client", server=False)
    pem = serialization.Encoding.PEM
    _write(pki.broker_keystore, _key_pem(broker_key) + broker_cert.public_bytes(pem) + authority.pem(), private=True)
    _write(pki.client_key, _key_pem(client_key), private=True)
    _write(pki.client_cert, client_cert.public_bytes(pem))
    write_authority(authority, pki.ca_cert)
    return pki
