"""epmd: our client and embedded server, against each other and against Erlang's epmd.

Tests taking the `epmd` fixture run twice: against the embedded `EpmdServer`
and against Erlang's `epmd` program started on a free port, so the embedded
server is held to the real one's answers byte for byte. No test touches the
epmd of port 4369.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TypeVar

import pytest

from otp.distribution._epmd import (
    EpmdError,
    EpmdServer,
    EpmdUnavailable,
    NameTaken,
    NodeInfo,
    default_port,
    ensure_epmd,
    names,
    port_please,
    register,
)

T = TypeVar("T")
LIMIT = 60.0  # a safety net against a hung external program, never reached when all is well


def run(main: Callable[[], Awaitable[T]]) -> T:
    """Run `main()` on a fresh event loop, failing it if it hangs."""

    async def bounded() -> T:
        async with asyncio.timeout(LIMIT):
            return await main()

    return asyncio.run(bounded())


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RealEpmd:
    """Erlang's `epmd` in the foreground on a free port, ready once it says so."""

    def __init__(self) -> None:
        self.port = free_port()
        program = shutil.which("epmd")
        assert program is not None
        # `-d -d` makes epmd report when it listens; its other chatter is drained below.
        self.process = subprocess.Popen(
            [program, "-port", str(self.port), "-d", "-d"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stderr is not None
        self.log: list[str] = []
        for line in self.process.stderr:
            self.log.append(line)
            if "entering the main select() loop" in line:
                break
        else:
            raise AssertionError(f"epmd did not start: {''.join(self.log)}")
        self.drain = threading.Thread(target=self.log.extend, args=(self.process.stderr,))
        self.drain.start()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()
        self.drain.join()
        assert self.process.stderr is not None
        self.process.stderr.close()


class Epmd:
    """The epmd under test: the embedded server (started in the test's loop) or a real one."""

    def __init__(self, real: RealEpmd | None) -> None:
        self.real = real
        self.server: EpmdServer | None = None

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[int]:
        """Serve for the duration of the block; yields epmd's port."""
        if self.real is not None:
            yield self.real.port
            return
        async with await EpmdServer.start(port=0) as self.server:
            yield self.server.port


@pytest.fixture(params=["embedded", pytest.param("erlang", marks=pytest.mark.erlang)])
def epmd(request: pytest.FixtureRequest) -> Iterator[Epmd]:
    """Each test using it runs against our EpmdServer, then against Erlang's epmd."""
    if request.param == "embedded":
        yield Epmd(None)
        return
    real = RealEpmd()
    try:
        yield Epmd(real)
    finally:
        real.stop()


async def exchange(port: int, request: bytes, *, answer_size: int | None = None) -> bytes:
    """Send one framed request; read the answer until epmd closes (or `answer_size` bytes)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(len(request).to_bytes(2, "big") + request)
    await writer.drain()
    answer = await (reader.read() if answer_size is None else reader.readexactly(answer_size))
    writer.close()
    await writer.wait_closed()
    return answer


def alive2(name: bytes, port: int, *, high: int = 6, low: int = 6, extra: bytes = b"") -> bytes:
    """An ALIVE2_REQ body for a normal TCP node."""
    return (
        b"x"
        + port.to_bytes(2, "big")
        + bytes([77, 0])
        + high.to_bytes(2, "big")
        + low.to_bytes(2, "big")
        + len(name).to_bytes(2, "big")
        + name
        + len(extra).to_bytes(2, "big")
        + extra
    )


@contextlib.asynccontextmanager
async def fake_epmd(answer: bytes) -> AsyncIterator[int]:
    """A server that reads one request, sends `answer`, and holds the connection open."""
    handlers: list[asyncio.Task[object]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.append(task)
        try:
            await reader.readexactly(int.from_bytes(await reader.readexactly(2), "big"))
            writer.write(answer)
            await reader.read()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async with await asyncio.start_server(handle, "127.0.0.1", 0) as server:
        yield server.sockets[0].getsockname()[1]
    await asyncio.gather(*handlers)


class TestRegister:
    def test_registration_gets_a_nonzero_32_bit_creation(self, epmd: Epmd) -> None:
        async def main() -> int:
            async with epmd.serving() as port, await register("py", 9100, epmd_port=port) as reg:
                return reg.creation

        creation = run(main)
        assert 4 <= creation < 2**32

    def test_registered_node_is_found_with_what_it_announced(self, epmd: Epmd) -> None:
        async def main() -> NodeInfo | None:
            async with epmd.serving() as port, await register("py", 9100, epmd_port=port):
                return await port_please("py", epmd_port=port)

        assert run(main) == NodeInfo("py", 9100, 72, 0, 6, 6, b"")

    def test_a_normal_node_registers_with_type_77(self, epmd: Epmd) -> None:
        async def main() -> NodeInfo | None:
            async with epmd.serving() as port:
                async with await register("py", 9100, hidden=False, epmd_port=port):
                    return await port_please("py", epmd_port=port)

        info = run(main)
        assert isinstance(info, NodeInfo)
        assert info.node_type == 77

    def test_a_taken_name_raises_name_taken_saying_what_to_do(self, epmd: Epmd) -> None:
        async def main() -> None:
            async with epmd.serving() as port, await register("py", 9100, epmd_port=port):
                await register("py", 9200, epmd_port=port)

        with pytest.raises(NameTaken, match="Pick another name, or stop the node") as caught:
            run(main)
        assert caught.value.name == "py"

    def test_closing_unregisters_and_the_name_can_register_again_with_a_new_creation(
        self, epmd: Epmd
    ) -> None:
        async def main() -> tuple[int, NodeInfo | None, int]:
            async with epmd.serving() as port:
                first = await register("py", 9100, epmd_port=port)
                await first.close()
                gone = await port_please("py", epmd_port=port)
                async with await register("py", 9200, epmd_port=port) as second:
                    return first.creation, gone, second.creation

        first, gone, second = run(main)
        assert gone is None
        assert second == first + 1

    def test_nothing_listening_raises_epmd_unavailable(self) -> None:
        port = free_port()

        with pytest.raises(EpmdUnavailable, match=f"cannot reach epmd at 127.0.0.1:{port}"):
            run(lambda: register("py", 9100, epmd_port=port))

    def test_an_epmd_that_never_answers_raises_epmd_unavailable(self) -> None:
        async def main() -> None:
            async with fake_epmd(b"") as port:
                await register("py", 9100, epmd_port=port, timeout=0.01)

        with pytest.raises(EpmdUnavailable, match=r"no answer within 0\.01 s"):
            run(main)

    def test_the_old_16_bit_alive2_resp_is_understood(self) -> None:
        async def main() -> int:
            async with fake_epmd(bytes([121, 0, 0, 3])) as port:
                async with await register("py", 9100, epmd_port=port) as reg:
                    return reg.creation

        assert run(main) == 3

    def test_a_full_node_name_is_rejected_with_the_short_name_to_use(self) -> None:
        with pytest.raises(ValueError, match="pass 'py'"):
            run(lambda: register("py@127.0.0.1", 9100, epmd_port=1))

    def test_registration_ends_when_epmd_stops(self) -> None:
        async def main() -> bool:
            server = await EpmdServer.start(port=0)
            reg = await register("py", 9100, epmd_port=server.port)
            await server.close()
            await reg.wait_lost()
            return reg.closed

        assert run(main) is True


class TestPortPlease:
    def test_an_unknown_name_gives_none(self, epmd: Epmd) -> None:
        async def main() -> NodeInfo | None:
            async with epmd.serving() as port:
                return await port_please("nobody", epmd_port=port)

        assert run(main) is None

    def test_nothing_listening_raises_epmd_unavailable(self) -> None:
        port = free_port()

        with pytest.raises(EpmdUnavailable):
            run(lambda: port_please("py", epmd_port=port))


class TestNames:
    def test_lists_every_registered_node_most_recent_first(self, epmd: Epmd) -> None:
        async def main() -> list[tuple[str, int]]:
            async with epmd.serving() as port:
                async with (
                    await register("one", 9101, epmd_port=port),
                    await register("two", 9102, epmd_port=port),
                ):
                    return await names(epmd_port=port)

        assert run(main) == [("two", 9102), ("one", 9101)]

    def test_no_nodes_gives_an_empty_list(self, epmd: Epmd) -> None:
        async def main() -> list[tuple[str, int]]:
            async with epmd.serving() as port:
                return await names(epmd_port=port)

        assert run(main) == []


class TestWireAnswers:
    """Raw requests: the embedded server must answer exactly as Erlang's epmd."""

    def test_names_answer_is_the_epmd_port_then_one_line_per_node(self, epmd: Epmd) -> None:
        async def main() -> tuple[int, bytes]:
            async with epmd.serving() as port, await register("py", 9100, epmd_port=port):
                return port, await exchange(port, b"n")

        port, answer = run(main)
        assert answer == port.to_bytes(4, "big") + b"name py at port 9100\n"

    def test_port2_answer_carries_every_field_and_the_extra_bytes(self, epmd: Epmd) -> None:
        async def main() -> tuple[bytes, bytes]:
            async with epmd.serving() as port:
                request = alive2(b"py", 9100, high=6, low=5, extra=b"xtra")
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(len(request).to_bytes(2, "big") + request)
                alive = await reader.readexactly(6)
                found = await exchange(port, b"zpy")
                writer.close()
                return alive, found

        alive, found = run(main)
        assert alive[:2] == bytes([118, 0])
        assert found == bytes([119, 0, 0x23, 0x8C, 77, 0, 0, 6, 0, 5, 0, 2]) + b"py\x00\x04xtra"

    def test_a_version_5_node_gets_alive2_resp_with_a_creation_of_1_to_3(self, epmd: Epmd) -> None:
        async def main() -> bytes:
            async with epmd.serving() as port:
                return await exchange(port, alive2(b"old", 9100, high=5, low=5), answer_size=4)

        answer = run(main)
        assert isinstance(answer, bytes)
        assert answer[:2] == bytes([121, 0])
        assert 1 <= int.from_bytes(answer[2:], "big") <= 3

    def test_a_taken_name_is_refused_with_result_1_and_creation_99(self, epmd: Epmd) -> None:
        async def main() -> bytes:
            async with epmd.serving() as port, await register("py", 9100, epmd_port=port):
                return await exchange(port, alive2(b"py", 9200), answer_size=6)

        assert run(main) == bytes([118, 1, 0, 0, 0, 99])

    @pytest.mark.parametrize(
        "request_",
        [
            pytest.param(b"zno\x00body", id="port2-name-with-nul"),
            pytest.param(alive2(b"p\x00y", 9100), id="alive2-name-with-nul"),
            pytest.param(b"x\x00\x01", id="alive2-too-short"),
            pytest.param(b"s" + b"py", id="stop-without-relaxed-check"),
            pytest.param(b"?", id="unknown-request"),
        ],
    )
    def test_a_malformed_or_refused_request_is_closed_without_an_answer(
        self, epmd: Epmd, request_: bytes
    ) -> None:
        async def main() -> bytes:
            async with epmd.serving() as port:
                return await exchange(port, request_)

        assert run(main) == b""

    def test_kill_is_refused_while_nodes_are_registered(self, epmd: Epmd) -> None:
        async def main() -> bytes:
            async with epmd.serving() as port, await register("py", 9100, epmd_port=port):
                return await exchange(port, b"k")

        assert run(main) == b"NO"

    def test_kill_stops_an_epmd_without_nodes(self) -> None:
        async def main() -> tuple[bytes, bool]:
            server = await EpmdServer.start(port=0)
            answer = await exchange(server.port, b"k")
            await server.wait_closed()
            return answer, server.closed

        assert run(main) == (b"OK", True)


class TestEpmdServer:
    def test_the_end_of_the_registering_connection_unregisters_the_name(self) -> None:
        async def main() -> list[NodeInfo]:
            async with await EpmdServer.start(port=0) as server:
                reg = await register("py", 9100, epmd_port=server.port)
                await reg.close()
                await server.wait_unregistered("py")
                return server.registered()

        assert run(main) == []

    def test_close_unregisters_every_name_and_stops_answering(self) -> None:
        async def main() -> None:
            server = await EpmdServer.start(port=0)
            async with await register("py", 9100, epmd_port=server.port):
                await server.close()
                assert server.registered() == []
                await names(epmd_port=server.port)

        with pytest.raises(EpmdUnavailable):
            run(main)

    def test_repr_shows_address_and_registrations(self) -> None:
        async def main() -> tuple[str, str]:
            async with await EpmdServer.start(port=0) as server:
                async with await register("py", 9100, epmd_port=server.port) as reg:
                    return repr(server), repr(reg)

        server, reg = run(main)
        assert server.endswith(" 1 registered>")
        assert reg.startswith("<Registration 'py' port 9100 creation ")
        assert reg.endswith(" hidden open>")


class TestEnsureEpmd:
    def test_an_epmd_that_answers_is_used(self) -> None:
        async def main() -> object:
            async with await EpmdServer.start(port=0) as server:
                return await ensure_epmd(port=server.port)

        assert run(main) is None

    def test_prefer_embedded_starts_a_server_that_close_stops(self) -> None:
        port = free_port()

        async def main() -> tuple[int, NodeInfo | None]:
            handle = await ensure_epmd(port=port, prefer="embedded")
            assert isinstance(handle, EpmdServer)
            async with await register("py", 9100, epmd_port=port):
                found = await port_please("py", epmd_port=port)
            await handle.close()
            with pytest.raises(EpmdUnavailable):
                await names(epmd_port=port)
            return handle.port, found

        assert run(main) == (port, NodeInfo("py", 9100, 72, 0, 6, 6))

    def test_a_port_taken_by_something_else_raises_epmd_unavailable(self) -> None:
        async def main() -> None:
            async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                writer.close()

            async with await asyncio.start_server(mute, "127.0.0.1", 0) as server:
                port = server.sockets[0].getsockname()[1]
                await ensure_epmd(port=port, prefer="embedded")

        with pytest.raises(EpmdUnavailable, match="cannot listen there"):
            run(main)

    @pytest.mark.erlang
    def test_prefer_system_starts_erlangs_epmd_as_a_daemon(self) -> None:
        port = free_port()

        async def main() -> tuple[object, list[tuple[str, int]]]:
            handle = await ensure_epmd(port=port, prefer="system")
            return handle, await names(epmd_port=port)

        try:
            assert run(main) == (None, [])
        finally:
            subprocess.run(["epmd", "-port", str(port), "-kill"], capture_output=True, check=False)


class TestDefaultPort:
    def test_is_4369_without_erl_epmd_port(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("ERL_EPMD_PORT", raising=False)
        assert default_port() == 4369

    def test_reads_erl_epmd_port(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("ERL_EPMD_PORT", "4370")
        assert default_port() == 4370

    def test_a_bad_erl_epmd_port_says_how_to_fix_it(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("ERL_EPMD_PORT", "epmd")
        with pytest.raises(ValueError, match="ERL_EPMD_PORT must be a TCP port number"):
            default_port()


async def communicate(*command: str, env: dict[str, str] | None = None) -> str:
    """Run an Erlang program to completion; its standard output."""
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await process.communicate()
    return output.decode()


@pytest.mark.erlang
class TestErlangToolsAgainstTheEmbeddedServer:
    def test_epmd_names_lists_our_registrations(self) -> None:
        async def main() -> tuple[int, str]:
            async with await EpmdServer.start(port=0) as server:
                async with await register("py", 9100, epmd_port=server.port):
                    return server.port, await communicate(
                        "epmd", "-port", str(server.port), "-names"
                    )

        port, output = run(main)
        assert output == f"epmd: up and running on port {port} with data:\nname py at port 9100\n"

    def test_epmd_kill_is_refused_with_nodes_and_obeyed_without(self) -> None:
        async def main() -> tuple[str, str, bool]:
            server = await EpmdServer.start(port=0)
            kill = ("epmd", "-port", str(server.port), "-kill")
            async with await register("py", 9100, epmd_port=server.port):
                refused = await communicate(*kill)
            await server.wait_unregistered("py")
            obeyed = await communicate(*kill)
            await server.wait_closed()
            return refused, obeyed, server.closed

        refused, obeyed, closed = run(main)
        assert refused == "Killing not allowed - living nodes in database.\n"
        assert obeyed == "Killed\n"
        assert closed is True

    def test_an_erl_node_registers_and_finds_our_node(self) -> None:
        """`erl -sname` registers with the embedded server, which answers its lookups."""
        script = (
            'io:format("~p~n~p~n", [erl_epmd:port_please("py", "127.0.0.1"), '
            'net_adm:names("127.0.0.1")]), io:get_line(""), halt().'
        )

        async def main() -> tuple[str, NodeInfo | None]:
            async with await EpmdServer.start(port=0) as server:
                env = {**os.environ, "ERL_EPMD_PORT": str(server.port)}
                async with await register("py", 9100, epmd_port=server.port):
                    erl = await asyncio.create_subprocess_exec(
                        *("erl", "-sname", "erlnode", "-start_epmd", "false"),
                        *("-noshell", "-eval", script),
                        env=env,
                        stdin=asyncio.subprocess.PIPE,
                        stdout=asyncio.subprocess.PIPE,
                    )
                    assert erl.stdin is not None and erl.stdout is not None
                    try:
                        seen = await erl.stdout.readline() + await erl.stdout.readline()
                        info = await port_please("erlnode", epmd_port=server.port)
                    finally:
                        erl.stdin.close()  # io:get_line sees the end: the node halts
                        await erl.wait()
                    await server.wait_unregistered("erlnode")
            return seen.decode(), info

        seen, info = run(main)
        assert isinstance(info, NodeInfo)
        erl_port = info.port
        assert seen == f'{{port,9100,6}}\n{{ok,[{{"py",9100}},{{"erlnode",{erl_port}}}]}}\n'
        assert (info.name, info.node_type, info.protocol, info.high_version) == (
            "erlnode",
            77,
            0,
            6,
        )
        assert info.low_version in (5, 6)


def test_epmd_error_is_the_base_of_every_epmd_failure() -> None:
    assert issubclass(EpmdUnavailable, EpmdError)
    assert issubclass(NameTaken, EpmdError)
