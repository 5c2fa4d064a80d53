"""Shared by the TLS tests: certificate authorities and node certificates, made at test time.

Made with the `cryptography` package (a development dependency). Without
it the TLS tests are skipped, unless OTP_REQUIRE_ERLANG=1 (as in CI): then
they fail, as a skipped TLS test proves nothing.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

import otp

#: The names every node certificate carries (the tests' nodes are name@127.0.0.1).
HOSTS = ("127.0.0.1", "localhost")


def require_cryptography() -> None:
    """Skip the current test without `cryptography` (fail with OTP_REQUIRE_ERLANG=1)."""
    try:
        import cryptography  # noqa: F401
    except ImportError:
        message = "the TLS tests make their certificates with `cryptography`: pip install it"
        if os.environ.get("OTP_REQUIRE_ERLANG") == "1":
            pytest.fail(f"OTP_REQUIRE_ERLANG=1 but {message}", pytrace=False)
        pytest.skip(message)


@dataclass(frozen=True)
class NodeFiles:
    """A node's certificate and key, and the authority that signed it."""

    cert: Path
    key: Path
    ca: Path

    def tls(self, verify: bool = True) -> otp.TLS:
        return otp.TLS(str(self.cert), str(self.key), cafile=str(self.ca), verify=verify)

    def optfile(self, directory: Path, *, verify: bool = True) -> Path:
        """An Erlang `-ssl_dist_optfile` for these files, checking peers as `verify` says."""
        common = (
            f'{{certfile, "{self.cert}"}}, {{keyfile, "{self.key}"}}, {{cacertfile, "{self.ca}"}}'
        )
        if verify:
            server = f"{common}, {{verify, verify_peer}}, {{fail_if_no_peer_cert, true}}"
            client = f"{common}, {{verify, verify_peer}}"
        else:
            server = client = f"{common}, {{verify, verify_none}}"
        path = directory / f"{self.cert.stem}.optfile"
        path.write_text(f"[{{server, [{server}]}}, {{client, [{client}]}}].\n")
        return path


class Authority:
    """A certificate authority that signs node certificates into `directory`."""

    def __init__(self, directory: Path, name: str) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        self.directory = directory
        self.name = name
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
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
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )
        self.path = directory / f"{name}.pem"
        self.path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, name: str, hosts: tuple[str, ...] = HOSTS) -> NodeFiles:
        """A certificate for `name`, valid for `hosts`, for both servers and clients."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                pass
            # Also as a DNS name: OTP's ssl checks an address given as the
            # server name indication against the DNS names.
            names.append(x509.DNSName(host))
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        cert_path = self.directory / f"{name}.crt"
        key_path = self.directory / f"{name}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        key_path.chmod(0o600)
        return NodeFiles(cert_path, key_path, self.path)


@dataclass(frozen=True)
class Certs:
    """Two nodes' certificates from one authority, and one from another authority."""

    a: NodeFiles
    b: NodeFiles
    stranger: NodeFiles  # signed by an authority the others do not trust
    misnamed: NodeFiles  # signed by the right authority, for another host
    directory: Path


def make_certs(directory: Path) -> Certs:
    require_cryptography()
    ca = Authority(directory, "ca")
    other = Authority(directory, "other-ca")
    return Certs(
        ca.issue("a"),
        ca.issue("b"),
        other.issue("stranger"),
        ca.issue("misnamed", ("10.255.255.1", "elsewhere.invalid")),
        directory,
    )
