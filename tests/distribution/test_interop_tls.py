"""TLS with real Erlang and Elixir nodes: `erl -proto_dist inet_tls -ssl_dist_optfile F`.

The optfile checks certificates both ways (`verify_peer`, and
`fail_if_no_peer_cert` on the server side), as `tls=otp.TLS(...)` does.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from erlang_nodes import COOKIE, erl, erlang, unique
from tls_certs import Certs, NodeFiles, make_certs

import otp
from otp import Atom
from otp._runtime._scheduler import current_node
from otp.distribution._node import Distribution

pytestmark = pytest.mark.erlang


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    """Certificates for the tests of this module."""
    return make_certs(tmp_path_factory.mktemp("tls-interop"))


class Echo(otp.GenServer):
    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        return otp.Reply((Atom("echo"), request), state)


#: An Erlang process answering calls as a gen_server does, registered as `srv`.
SERVER = (
    "register(srv, spawn(fun L() -> receive {'$gen_call', From, Req} ->"
    " gen:reply(From, {got, Req}), L() end end)),"
)


def tls_flags(files: NodeFiles, directory: Path) -> list[str]:
    return ["-proto_dist", "inet_tls", "-ssl_dist_optfile", str(files.optfile(directory))]


def encrypted(peer: str) -> bool:
    """Whether this node's connection to `peer` runs in TLS."""
    dist = current_node("test").dist
    assert isinstance(dist, Distribution)
    transport = dist.conns[peer].transport
    return transport is not None and transport.get_extra_info("ssl_object") is not None


def names() -> tuple[str, str]:
    return f"{unique('py')}@127.0.0.1", f"{unique('erl')}@127.0.0.1"


def run(main: object, py: str, tls: otp.TLS | None) -> object:
    return otp.run(main, node=py, cookie=COOKIE, tls=tls)  # type: ignore[arg-type]


class TestErlang:
    def test_erlang_calls_a_python_server_then_python_calls_back(self, certs: Certs) -> None:
        py, en = names()
        code = erl(
            SERVER + 'io:format("got ~p~n", [gen_server:call({echo, $PY}, hello)]),'
            "timer:sleep(infinity).",
            PY=py,
        )

        async def main() -> list[object]:
            await Echo.start(None, name="echo")
            async with erlang(en, code, erl_flags=tls_flags(certs.b, certs.directory)) as peer:
                got = await peer.expect("got")
                back = await otp.call(("srv", en), Atom("ping"))
                return [got, encrypted(en), back]

        assert run(main, py, certs.a.tls()) == [
            "{echo,hello}",
            True,
            (Atom("got"), Atom("ping")),
        ]

    def test_python_dials_erlang_and_erlang_answers(self, certs: Certs) -> None:
        py, en = names()
        code = SERVER + 'io:format("ready~n"), timer:sleep(infinity).'

        async def main() -> tuple[object, bool]:
            async with erlang(en, code, erl_flags=tls_flags(certs.b, certs.directory)) as peer:
                await peer.expect("ready")
                return await otp.call(("srv", en), [1, 2.5, "x"]), encrypted(en)

        got = run(main, py, certs.a.tls())
        assert got == ((Atom("got"), [1, 2.5, "x"]), True)

    def test_an_erlang_node_with_a_stranger_certificate_is_refused(
        self, certs: Certs, caplog: pytest.LogCaptureFixture
    ) -> None:
        py, en = names()
        code = erl('io:format("ping ~p~n", [net_adm:ping($PY)]), timer:sleep(infinity).', PY=py)
        flags = tls_flags(certs.stranger, certs.directory)

        async def main() -> tuple[str, list[str]]:
            async with erlang(en, code, erl_flags=flags) as peer:
                return await peer.expect("ping"), otp.nodes()

        with caplog.at_level(logging.WARNING, logger="otp"):
            assert run(main, py, certs.a.tls()) == ("pang", [])
        assert "TLS handshake failed" in caplog.text

    def test_python_refuses_an_erlang_listener_with_a_stranger_certificate(
        self, certs: Certs
    ) -> None:
        py, en = names()
        code = 'io:format("ready~n"), timer:sleep(infinity).'
        flags = tls_flags(certs.stranger, certs.directory)

        async def main() -> bool:
            async with erlang(en, code, erl_flags=flags) as peer:
                await peer.expect("ready")
                return await otp.connect(en)

        assert run(main, py, certs.a.tls()) is False

    def test_a_plain_erlang_node_cannot_reach_a_tls_python_node(
        self, certs: Certs, caplog: pytest.LogCaptureFixture
    ) -> None:
        py, en = names()
        code = erl('io:format("ping ~p~n", [net_adm:ping($PY)]), timer:sleep(infinity).', PY=py)

        async def main() -> str:
            async with erlang(en, code) as peer:
                return await peer.expect("ping")

        with caplog.at_level(logging.WARNING, logger="otp"):
            assert run(main, py, certs.a.tls()) == "pang"
        assert "does not speak TLS" in caplog.text

    def test_a_tls_erlang_node_cannot_reach_a_plain_python_node(
        self, certs: Certs, caplog: pytest.LogCaptureFixture
    ) -> None:
        py, en = names()
        code = erl('io:format("ping ~p~n", [net_adm:ping($PY)]), timer:sleep(infinity).', PY=py)

        async def main() -> str:
            async with erlang(en, code, erl_flags=tls_flags(certs.b, certs.directory)) as peer:
                return await peer.expect("ping")

        with caplog.at_level(logging.WARNING, logger="otp"):
            assert run(main, py, None) == "pang"
        assert "the peer speaks TLS, and this node does not" in caplog.text


class TestElixir:
    def test_elixir_calls_a_python_server_over_tls(self, certs: Certs) -> None:
        py, ex = names()
        code = (
            f'IO.puts("got #{{inspect(GenServer.call({{:echo, :"{py}"}}, :hello))}}"); '
            "Process.sleep(:infinity)"
        )

        async def main() -> str:
            await Echo.start(None, name="echo")
            flags = tls_flags(certs.b, certs.directory)
            async with erlang(ex, code, elixir=True, erl_flags=flags) as peer:
                return await peer.expect("got")

        assert run(main, py, certs.a.tls()) == "{:echo, :hello}"
