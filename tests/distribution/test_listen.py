"""Where a node listens: `bind=` and `port=` (a port, the first free one of a range, any)."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Iterator

import pytest
from erlang_nodes import erl, erlang
from node_helpers import python_node

import otp
from otp._runtime._scheduler import current_node
from otp.distribution._listen import listen
from otp.distribution._node import Distribution

COOKIE = "listen-cookie"


def name() -> str:
    return f"ls{uuid.uuid4().hex[:10]}@127.0.0.1"


def bound() -> tuple[str, int]:
    """The address the current node's listener is bound to."""
    dist = current_node("test").dist
    assert isinstance(dist, Distribution) and dist._server is not None
    host, port = dist._server.sockets[0].getsockname()[:2]
    return host, port


def free_ports(count: int) -> list[int]:
    """`count` consecutive ports nobody listens on (checked, not guaranteed to stay free)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            first = probe.getsockname()[1]
        if first + count > 65535:
            continue
        socks = []
        try:
            for port in range(first, first + count):
                s = socket.socket()
                socks.append(s)
                s.bind(("0.0.0.0", port))
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
        return list(range(first, first + count))
    raise AssertionError("no run of free ports found")


@pytest.fixture
def taken() -> Iterator[list[socket.socket]]:
    """Sockets that hold ports while a test runs."""
    socks: list[socket.socket] = []
    yield socks
    for s in socks:
        s.close()


def hold(port: int, socks: list[socket.socket]) -> None:
    s = socket.socket()
    s.bind(("0.0.0.0", port))
    s.listen()
    socks.append(s)


class TestBind:
    def test_bind_listens_on_that_address_only(self) -> None:
        async def main() -> tuple[str, int]:
            return bound()

        host, _ = otp.run(main, node=name(), cookie=COOKIE, bind="127.0.0.1")
        assert host == "127.0.0.1"

    def test_by_default_it_listens_on_every_ipv4_interface(self) -> None:
        async def main() -> tuple[str, int]:
            return bound()

        assert otp.run(main, node=name(), cookie=COOKIE)[0] == "0.0.0.0"

    def test_an_ipv6_address_is_bound(self) -> None:
        if not socket.has_ipv6:
            pytest.skip("this machine has no IPv6")

        async def main() -> str:
            try:
                server = await listen(lambda r, w: None, "::1", None)
            except OSError as exc:
                pytest.skip(f"cannot bind ::1 here: {exc}")
            try:
                return str(server.sockets[0].getsockname()[0])
            finally:
                server.close()

        assert asyncio.run(main()) == "::1"

    def test_a_host_name_binds_one_of_its_addresses(self) -> None:
        async def main() -> list[str]:
            server = await listen(lambda r, w: None, "localhost", None)
            try:
                return [s.getsockname()[0] for s in server.sockets]
            finally:
                server.close()

        hosts = asyncio.run(main())
        assert len(hosts) == 1 and hosts[0] in ("127.0.0.1", "::1")

    def test_a_name_that_does_not_resolve_says_what_to_give(self) -> None:
        async def main() -> None:
            await listen(lambda r, w: None, "no-such-host.invalid", None)

        with pytest.raises(OSError, match=r"cannot listen on bind='no-such-host\.invalid'"):
            asyncio.run(main())

    def test_a_python_node_dials_a_node_bound_to_loopback(self) -> None:
        server = """
import sys, otp
async def main():
    print("ready", flush=True)
    await otp.receive()
otp.run(main, node=sys.argv[1], cookie=sys.argv[2], bind="127.0.0.1")
"""
        a, b = name(), name()

        async def main() -> bool:
            async with python_node(server, b, COOKIE):
                return await otp.connect(b)

        assert otp.run(main, node=a, cookie=COOKIE) is True


class TestPort:
    def test_a_fixed_port_is_used(self) -> None:
        (port,) = free_ports(1)

        async def main() -> int:
            return bound()[1]

        assert otp.run(main, node=name(), cookie=COOKIE, port=port) == port

    def test_a_range_takes_its_first_free_port(self, taken: list[socket.socket]) -> None:
        ports = free_ports(3)
        hold(ports[0], taken)

        async def main() -> int:
            return bound()[1]

        assert otp.run(main, node=name(), cookie=COOKIE, port=(ports[0], ports[2])) == ports[1]

    def test_a_full_range_fails_naming_the_range(self, taken: list[socket.socket]) -> None:
        ports = free_ports(2)
        for port in ports:
            hold(port, taken)

        async def main() -> None:
            pass

        with pytest.raises(OSError, match=f"no free port in the range {ports[0]}-{ports[1]}"):
            otp.run(main, node=name(), cookie=COOKIE, port=(ports[0], ports[1]))

    def test_a_taken_fixed_port_fails_naming_it(self, taken: list[socket.socket]) -> None:
        (port,) = free_ports(1)
        hold(port, taken)

        async def main() -> None:
            pass

        with pytest.raises(OSError, match=f"cannot listen on 0.0.0.0 port {port}"):
            otp.run(main, node=name(), cookie=COOKIE, port=port)

    def test_without_a_port_the_system_picks_one(self) -> None:
        async def main() -> int:
            return bound()[1]

        assert otp.run(main, node=name(), cookie=COOKIE) > 0

    @pytest.mark.erlang
    def test_erlang_connects_to_a_node_on_a_fixed_port(self) -> None:
        (port,) = free_ports(1)
        py, en = name(), f"erl{uuid.uuid4().hex[:10]}@127.0.0.1"
        code = erl(
            'io:format("port ~p~n", [element(2, erl_epmd:port_please($ALIVE, "127.0.0.1"))]),'
            'io:format("ping ~p~n", [net_adm:ping($PY)]), timer:sleep(infinity).',
            PY=py,
            ALIVE=py.partition("@")[0],
        )

        async def main() -> tuple[str, str]:
            async with erlang(en, code, cookie=COOKIE) as peer:
                return await peer.expect("port"), await peer.expect("ping")

        got = otp.run(main, node=py, cookie=COOKIE, port=port, bind="127.0.0.1")
        assert got == (str(port), "pong")
