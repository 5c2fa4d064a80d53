"""TLS between nodes (`tls=otp.TLS(...)`): the option, its contexts, and Python nodes over TLS.

The second Python node runs in a subprocess (`PEER`): it serves an echo
GenServer, and dials the node named on each line of its stdin, printing
what the call gave.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import uuid
from pathlib import Path
from typing import Any

import pytest
from node_helpers import GUARD, python_node
from tls_certs import Certs, NodeFiles, make_certs

import otp
from otp._runtime._scheduler import current_node
from otp.distribution._node import Distribution
from otp.distribution._tls import TLS, check_tls, contexts

COOKIE = "tls-cookie"

PEER = """
import asyncio, sys, otp

class Echo(otp.GenServer):
    def handle_call(self, request, from_, state):
        return otp.Reply(("echo", request), state)

async def main():
    await Echo.start(None, name="echo")
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print("ready", flush=True)
    while line := (await reader.readline()).decode().strip():
        try:
            got = repr(await otp.call(("echo", line), "from-peer", timeout=10))
        except Exception as exc:
            got = type(exc).__name__
        print(got, flush=True)

name, cookie, cert, key, ca, verify = sys.argv[1:7]
tls = otp.TLS(cert, key, cafile=ca, verify=verify == "1") if cert else None
otp.run(main, node=name, cookie=cookie, tls=tls)
"""


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    """Certificates for the tests of this module."""
    return make_certs(tmp_path_factory.mktemp("tls"))


class Echo(otp.GenServer):
    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        return otp.Reply(("echo", request), state)


def name(prefix: str = "tls") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}@127.0.0.1"


def peer(
    node: str, files: NodeFiles | None, *, verify: bool = True
) -> contextlib.AbstractAsyncContextManager[asyncio.subprocess.Process]:
    """The subprocess node `node`, with TLS from `files` (None: plain TCP)."""
    if files is None:
        return python_node(PEER, node, COOKIE, "", "", "", "1")
    return python_node(
        PEER, node, COOKIE, str(files.cert), str(files.key), str(files.ca), "1" if verify else "0"
    )


async def ask(proc: asyncio.subprocess.Process, node: str) -> str:
    """Make the subprocess node call the echo server of `node`; what it printed."""
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(f"{node}\n".encode())
    async with asyncio.timeout(GUARD):
        return (await proc.stdout.readline()).decode().strip()


def transport_of(peer_name: str) -> asyncio.Transport:
    dist = current_node("test").dist
    assert isinstance(dist, Distribution)
    transport = dist.conns[peer_name].transport
    assert transport is not None
    return transport


class TestTheOption:
    def test_tls_shows_its_fields(self) -> None:
        tls = otp.TLS("c.pem", "k.pem", cafile="ca.pem")
        assert (tls.certfile, tls.keyfile, tls.cafile, tls.verify) == (
            "c.pem",
            "k.pem",
            "ca.pem",
            True,
        )

    def test_it_is_frozen(self) -> None:
        tls = otp.TLS("c.pem", "k.pem")
        with pytest.raises(AttributeError):
            tls.verify = False  # type: ignore[misc]

    @pytest.mark.parametrize(
        ("kwargs", "says"),
        [
            ({"certfile": 1, "keyfile": "k"}, "certfile must be the path of a PEM file"),
            ({"certfile": "c", "keyfile": ""}, "keyfile must be the path of a PEM file"),
            ({"certfile": "c", "keyfile": "k", "cafile": 3}, "cafile must be the path"),
            ({"certfile": "c", "keyfile": "k", "verify": "yes"}, "verify must be True or False"),
        ],
    )
    def test_a_wrong_field_says_what_to_pass(self, kwargs: dict[str, object], says: str) -> None:
        with pytest.raises(TypeError, match=says):
            otp.TLS(**kwargs)  # type: ignore[arg-type]

    def test_a_node_given_something_else_says_to_pass_otp_tls(self) -> None:
        async def main() -> None:
            pass

        with pytest.raises(TypeError, match=r"tls must be otp.TLS\(certfile=\.\.\."):
            otp.run(main, node=name(), cookie=COOKIE, tls={"certfile": "c"})

    def test_none_is_plain_tcp(self) -> None:
        assert check_tls(None) is None and contexts(None) is None

    def test_a_missing_certificate_file_is_named(self, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match=r"cannot load the certificate .*nothing\.pem"):
            contexts(TLS(str(tmp_path / "nothing.pem"), str(tmp_path / "nothing.key")))

    def test_a_missing_authority_file_is_named(self, certs: Certs, tmp_path: Path) -> None:
        bad = TLS(certs.a.cert, certs.a.key, cafile=str(tmp_path / "noca.pem"))
        with pytest.raises(ValueError, match=r"certificate authorities .*noca\.pem"):
            contexts(bad)

    def test_paths_may_be_path_objects(self, certs: Certs) -> None:
        assert contexts(TLS(certs.a.cert, certs.a.key, cafile=certs.a.ca)) is not None


class TestContexts:
    def test_verify_requires_the_peers_certificate_both_ways(self, certs: Certs) -> None:
        made = contexts(certs.a.tls())
        assert made is not None
        assert made.server.verify_mode == ssl.CERT_REQUIRED  # fail_if_no_peer_cert
        assert made.client.verify_mode == ssl.CERT_REQUIRED
        assert made.client.check_hostname is True

    def test_without_verify_nothing_is_checked(self, certs: Certs) -> None:
        made = contexts(certs.a.tls(verify=False))
        assert made is not None
        assert made.server.verify_mode == made.client.verify_mode == ssl.CERT_NONE
        assert made.client.check_hostname is False

    def test_tls_1_2_is_the_oldest_version_offered(self, certs: Certs) -> None:
        made = contexts(certs.a.tls())
        assert made is not None
        assert made.server.minimum_version == made.client.minimum_version == ssl.TLSVersion.TLSv1_2


class TestTwoTLSNodes:
    def test_a_tls_node_calls_another_and_is_called_back(self, certs: Certs) -> None:
        a, b = name("a"), name("b")

        async def main() -> tuple[object, str, bool, str]:
            await Echo.start(None, name="echo")
            async with peer(b, certs.b) as proc:
                got = await otp.call(("echo", b), "hello")
                transport = transport_of(b)
                encrypted = transport.get_extra_info("ssl_object") is not None
                subject = dict(x[0] for x in transport.get_extra_info("peercert")["subject"])
                back = await ask(proc, a)  # the peer calls us on the same connection
                return got, subject["commonName"], encrypted, back

        got = otp.run(main, node=a, cookie=COOKIE, tls=certs.a.tls())
        assert got == (("echo", "hello"), "b", True, "('echo', 'from-peer')")

    def test_a_tls_node_accepts_a_tls_node_that_dials_it(self, certs: Certs) -> None:
        a, b = name("a"), name("b")

        async def main() -> tuple[str, bool]:
            await Echo.start(None, name="echo")
            async with peer(b, certs.b) as proc:
                back = await ask(proc, a)
                return back, transport_of(b).get_extra_info("ssl_object") is not None

        got = otp.run(main, node=a, cookie=COOKIE, tls=certs.a.tls())
        assert got == ("('echo', 'from-peer')", True)

    def test_large_messages_cross_tls_both_ways(self, certs: Certs) -> None:
        # Megabytes in flight: TLS records cut frames, and the transport pauses writing.
        a, b = name("a"), name("b")
        blob = bytes(range(256)) * 16384  # 4 MiB

        async def main() -> list[bool]:
            async with peer(b, certs.b):
                replies = await asyncio.gather(
                    *(otp.call(("echo", b), (i, blob), timeout=20) for i in range(4))
                )
            return [reply == ("echo", (i, blob)) for i, reply in enumerate(replies)]

        assert otp.run(main, node=a, cookie=COOKIE, tls=certs.a.tls()) == [True] * 4


class TestRefused:
    def test_a_plain_node_cannot_connect_to_a_tls_node_which_logs_why(
        self, certs: Certs, caplog: pytest.LogCaptureFixture
    ) -> None:
        a, b = name("a"), name("b")

        async def main() -> tuple[str, list[str]]:
            await Echo.start(None, name="echo")
            async with peer(b, None) as proc:
                return await ask(proc, a), otp.nodes()

        with caplog.at_level(logging.WARNING, logger="otp"):
            got = otp.run(main, node=a, cookie=COOKIE, tls=certs.a.tls())
        assert got == ("NoConnection", [])
        assert "Refused a connection from" in caplog.text
        assert "does not speak TLS" in caplog.text

    def test_a_tls_node_cannot_connect_to_a_plain_node(
        self, certs: Certs, caplog: pytest.LogCaptureFixture
    ) -> None:
        a, b = name("a"), name("b")

        async def main() -> tuple[bool, list[str]]:
            async with peer(b, None):
                return await otp.connect(b), otp.nodes()

        with caplog.at_level(logging.INFO, logger="otp"):
            got = otp.run(main, node=a, cookie=COOKIE, tls=certs.a.tls())
        assert got == (False, [])
        assert "is the peer a TLS node" in caplog.text

    def test_a_plain_node_refuses_a_tls_node_that_dials_it_and_logs_why(
        self, certs: Certs, caplog: pytest.LogCaptureFixture
    ) -> None:
        a, b = name("a"), name("b")

        async def main() -> tuple[str, list[str]]:
            await Echo.start(None, name="echo")
            async with peer(b, certs.b) as proc:
                return await ask(proc, a), otp.nodes()

        with caplog.at_level(logging.WARNING, logger="otp"):
            got = otp.run(main, node=a, cookie=COOKIE)
        assert got == ("NoConnection", [])
        assert "the peer speaks TLS, and this node does not" in caplog.text

    def test_a_certificate_from_another_authority_is_refused_by_the_listener(
        self, certs: Certs, caplog: pytest.LogCaptureFixture
    ) -> None:
        a, b = name("a"), name("b")

        async def main() -> tuple[str, list[str]]:
            await Echo.start(None, name="echo")
            # The stranger checks nothing itself: only our check can refuse it.
            async with peer(b, certs.stranger, verify=False) as proc:
                return await ask(proc, a), otp.nodes()

        with caplog.at_level(logging.WARNING, logger="otp"):
            got = otp.run(main, node=a, cookie=COOKIE, tls=certs.a.tls())
        assert got == ("NoConnection", [])
        assert "TLS handshake failed" in caplog.text

    def test_a_listener_with_a_certificate_from_another_authority_is_refused(
        self, certs: Certs, caplog: pytest.LogCaptureFixture
    ) -> None:
        a, b = name("a"), name("b")

        async def main() -> bool:
            async with peer(b, certs.stranger, verify=False):
                return await otp.connect(b)

        with caplog.at_level(logging.INFO, logger="otp"):
            assert otp.run(main, node=a, cookie=COOKIE, tls=certs.a.tls()) is False
        assert "certificate was refused" in caplog.text

    def test_a_listener_whose_certificate_names_another_host_is_refused(
        self, certs: Certs, caplog: pytest.LogCaptureFixture
    ) -> None:
        a, b = name("a"), name("b")

        async def main() -> bool:
            async with peer(b, certs.misnamed):
                return await otp.connect(b)

        with caplog.at_level(logging.INFO, logger="otp"):
            assert otp.run(main, node=a, cookie=COOKIE, tls=certs.a.tls()) is False
        assert "127.0.0.1" in caplog.text and "certificate was refused" in caplog.text

    def test_without_verify_a_stranger_connects(self, certs: Certs) -> None:
        a, b = name("a"), name("b")

        async def main() -> object:
            async with peer(b, certs.stranger, verify=False):
                return await otp.call(("echo", b), "hi")

        got = otp.run(main, node=a, cookie=COOKIE, tls=certs.a.tls(verify=False))
        assert got == ("echo", "hi")

    def test_tls_does_not_replace_the_cookie(self, certs: Certs) -> None:
        a, b = name("a"), name("b")

        async def main() -> bool:
            async with peer(b, certs.b):
                return await otp.connect(b)

        assert otp.run(main, node=a, cookie="another-cookie", tls=certs.a.tls()) is False


def test_certificates_can_be_made_twice(tmp_path: Path) -> None:
    made = make_certs(tmp_path)
    assert made.a.cert.exists() and made.stranger.ca != made.a.ca
