"""otp.pg: process groups on one node, and shared with Erlang and Python nodes.

The local tests run on the virtual clock. The distributed ones start a real
`erl` node (marked `erlang`) or a second Python node in a subprocess; each
waits for the notification or output line that shows the change, with
generous upper bounds that only guard against hangs.
"""

from __future__ import annotations

import asyncio

import pytest
from erlang_nodes import COOKIE, GUARD, erl, erlang, unique
from node_helpers import python_node

import otp
from otp import Atom
from otp._runtime._ids import _new_remote_pid
from otp.testing import VirtualClock


async def member(*groups: object) -> None:
    """A process that joins `groups`, then waits for any message."""
    for group in groups:
        otp.pg.join(group, otp.self())
    await otp.receive()


Note = tuple[str, object, list[otp.Pid]]


async def wait_down(pid: otp.Pid, reason: object = "normal") -> None:
    ref = otp.monitor(pid)
    down = await otp.receive(timeout=GUARD, match=lambda m: isinstance(m, otp.Down))
    assert down == otp.Down(ref, pid, reason)


class TestStartLink:
    def test_the_scope_runs_registered_under_its_name(self, clock: VirtualClock) -> None:
        async def main() -> bool:
            default = await otp.pg.start_link()
            other = await otp.pg.start_link("other")
            return otp.whereis("pg") == default and otp.whereis("other") == other

        assert clock.run(main) is True

    def test_a_second_scope_of_the_same_name_is_already_started(self, clock: VirtualClock) -> None:
        async def main() -> bool:
            pid = await otp.pg.start_link()
            with pytest.raises(otp.AlreadyStarted) as taken:
                await otp.pg.start()
            return taken.value.pid == pid

        assert clock.run(main) is True

    def test_scopes_are_independent(self, clock: VirtualClock) -> None:
        async def main() -> tuple[list[otp.Pid], list[otp.Pid]]:
            await otp.pg.start_link()
            await otp.pg.start_link("other")
            otp.pg.join("g", otp.self(), scope="other")
            return otp.pg.get_members("g"), otp.pg.get_members("g", scope="other")

        default, other = clock.run(main)
        assert default == [] and len(other) == 1

    def test_a_supervisor_starts_it_from_its_child_spec(self, clock: VirtualClock) -> None:
        async def main() -> list[object]:
            sup = await otp.Supervisor.start_link([otp.pg.child_spec("chat")])
            return [child.id for child in await otp.Supervisor.which_children(sup)]

        assert clock.run(main) == ["chat"]


class TestJoin:
    def test_a_process_sees_its_own_join_at_once(self, clock: VirtualClock) -> None:
        async def main() -> bool:
            await otp.pg.start_link()
            otp.pg.join("room", otp.self())
            return otp.pg.get_members("room") == [otp.self()]

        assert clock.run(main) is True

    def test_joining_twice_counts_twice_and_needs_two_leaves(self, clock: VirtualClock) -> None:
        async def main() -> list[int]:
            await otp.pg.start_link()
            me = otp.self()
            otp.pg.join("room", me)
            otp.pg.join("room", [me])
            counts = [len(otp.pg.get_members("room"))]
            otp.pg.leave("room", me)
            counts.append(len(otp.pg.get_members("room")))
            otp.pg.leave("room", me)
            counts.append(len(otp.pg.get_members("room")))
            return counts

        assert clock.run(main) == [2, 1, 0]

    def test_a_list_joins_every_pid(self, clock: VirtualClock) -> None:
        async def main() -> bool:
            await otp.pg.start_link()
            a = otp.spawn(otp.receive)
            b = otp.spawn(otp.receive)
            otp.pg.join("g", [a, b])
            return sorted(otp.pg.get_members("g")) == sorted([a, b])

        assert clock.run(main) is True

    def test_list_and_tuple_groups_work(self, clock: VirtualClock) -> None:
        async def main() -> tuple[int, int]:
            await otp.pg.start_link()
            otp.pg.join(["a", 1], otp.self())
            otp.pg.join(("job", 7), otp.self())
            return len(otp.pg.get_members(["a", 1])), len(otp.pg.get_members(("job", 7)))

        assert clock.run(main) == (1, 1)

    def test_a_process_that_exited_is_not_added(self, clock: VirtualClock) -> None:
        async def main() -> list[otp.Pid]:
            await otp.pg.start_link()
            pid = otp.spawn(otp.receive)
            otp.exit(pid, "kill")
            otp.pg.join("g", pid)
            return otp.pg.get_members("g")

        assert clock.run(main) == []

    def test_a_pid_of_another_node_is_refused(self, clock: VirtualClock) -> None:
        async def main() -> None:
            await otp.pg.start_link()
            remote = _new_remote_pid("other@host", 1, 0, 1)
            with pytest.raises(ValueError, match="on its own node"):
                otp.pg.join("g", remote)

        clock.run(main)

    def test_a_non_pid_is_refused(self, clock: VirtualClock) -> None:
        async def main() -> None:
            await otp.pg.start_link()
            with pytest.raises(TypeError, match="a pid or a list of pids"):
                otp.pg.join("g", ["not a pid"])  # type: ignore[list-item]

        clock.run(main)

    def test_without_a_scope_it_raises_noproc_saying_how_to_start_one(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> None:
            with pytest.raises(otp.NoProc, match=r"otp\.pg\.start_link\('chat'\)"):
                otp.pg.join("g", otp.self(), scope="chat")

        clock.run(main)


class TestLeave:
    def test_leave_says_whether_anything_left(self, clock: VirtualClock) -> None:
        async def main() -> list[bool]:
            await otp.pg.start_link()
            otp.pg.join("g", otp.self())
            return [otp.pg.leave("g", otp.self()), otp.pg.leave("g", otp.self())]

        assert clock.run(main) == [True, False]

    def test_a_group_without_members_is_gone(self, clock: VirtualClock) -> None:
        async def main() -> list[list[object]]:
            await otp.pg.start_link()
            otp.pg.join("a", otp.self())
            otp.pg.join("b", otp.self())
            before = sorted(otp.pg.which_groups())  # type: ignore[type-var]
            otp.pg.leave("a", otp.self())
            return [before, otp.pg.which_groups()]

        assert clock.run(main) == [["a", "b"], ["b"]]


class TestExit:
    def test_a_member_that_exits_leaves_every_group(self, clock: VirtualClock) -> None:
        async def main() -> tuple[list[otp.Pid], Note, int, list[object]]:
            await otp.pg.start_link()
            ref, members = otp.pg.monitor("b")
            pid = otp.spawn(member, "a", "b", "a")
            joined = await note(ref)  # the member ran its joins
            in_a = len(otp.pg.get_members("a"))
            otp.send(pid, "stop")
            await wait_down(pid)
            return (
                members,
                joined,
                in_a,
                [otp.pg.get_members("a"), otp.pg.which_groups(), await note(ref)],
            )

        members, joined, in_a, after = clock.run(main)
        pid = joined[2][0]
        assert [members, joined, in_a, after] == [
            [],
            ("join", "b", [pid]),
            2,
            [[], [], ("leave", "b", [pid])],
        ]

    def test_a_scope_that_exits_forgets_its_groups(self, clock: VirtualClock) -> None:
        async def main() -> list[object]:
            scope = await otp.pg.start("pg")
            otp.pg.join("g", otp.self())
            await otp.stop(scope)
            return [otp.pg.get_members("g"), otp.pg.which_groups()]

        assert clock.run(main) == [[], []]


class TestReads:
    def test_reads_of_a_scope_that_is_not_running_are_empty(self, clock: VirtualClock) -> None:
        async def main() -> list[object]:
            return [
                otp.pg.get_members("g"),
                otp.pg.get_local_members("g", scope="nope"),
                otp.pg.which_groups(),
            ]

        assert clock.run(main) == [[], [], []]

    def test_local_members_are_the_members_of_this_node(self, clock: VirtualClock) -> None:
        async def main() -> bool:
            await otp.pg.start_link()
            otp.pg.join("g", otp.self())
            return otp.pg.get_local_members("g") == otp.pg.get_members("g") == [otp.self()]

        assert clock.run(main) is True


class TestMonitor:
    def test_it_returns_the_members_then_reports_joins_and_leaves(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[bool, list[Note]]:
            await otp.pg.start_link()
            me = otp.self()
            otp.pg.join("g", me)
            ref, members = otp.pg.monitor("g")
            otp.pg.join("other", me)  # another group: not reported
            otp.pg.join("g", [me, me])
            otp.pg.leave("g", me)
            notes = [await note(ref), await note(ref)]
            with pytest.raises(TimeoutError):
                await otp.receive(timeout=0)
            return members == [me], notes

        same, notes = clock.run(main)
        assert same is True
        assert [(action, group, len(pids)) for action, group, pids in notes] == [
            ("join", "g", 2),
            ("leave", "g", 1),
        ]

    def test_monitor_scope_reports_every_group(self, clock: VirtualClock) -> None:
        async def main() -> list[object]:
            await otp.pg.start_link()
            otp.pg.join("a", otp.self())
            ref, groups = otp.pg.monitor_scope()
            otp.pg.join("b", otp.self())
            note = await otp.receive(timeout=GUARD)
            assert isinstance(note, tuple) and note[0] == ref
            return [list(groups), note[1:3]]

        assert clock.run(main) == [["a"], ("join", "b")]

    def test_demonitor_stops_and_drops_queued_notifications(self, clock: VirtualClock) -> None:
        async def main() -> list[object]:
            await otp.pg.start_link()
            ref, _ = otp.pg.monitor("g")
            otp.pg.join("g", otp.self())
            otp.send(otp.self(), "after")
            stopped = otp.pg.demonitor(ref)
            otp.pg.leave("g", otp.self())
            return [stopped, otp.pg.demonitor(ref), await otp.receive(timeout=GUARD)]

        assert clock.run(main) == [True, False, "after"]

    def test_a_subscription_ends_when_its_process_exits(self, clock: VirtualClock) -> None:
        async def subscriber(parent: otp.Pid) -> None:
            ref, _ = otp.pg.monitor("g")
            otp.send(parent, ref)

        async def main() -> bool:
            await otp.pg.start_link()
            pid, mref = otp.spawn_monitor(subscriber, otp.self())
            ref = await otp.receive(timeout=GUARD)
            assert isinstance(ref, otp.Ref)
            assert await otp.receive(timeout=GUARD) == otp.Down(mref, pid, "normal")
            return otp.pg.demonitor(ref)

        assert clock.run(main) is False

    def test_monitor_outside_a_process_raises_not_in_process(self) -> None:
        async def main() -> None:
            async with otp.Node():
                await otp.pg.start()
                with pytest.raises(otp.NotInProcess):
                    otp.pg.monitor("g")

        asyncio.run(main())


# -- across nodes -------------------------------------------------------------------------


def run_node(main: object, name: str) -> object:
    return otp.run(main, node=name, cookie=COOKIE)  # type: ignore[arg-type]


async def note(ref: otp.Ref) -> Note:
    """The next pg notification of subscription `ref`: (action, group, pids)."""
    msg = await otp.receive(
        timeout=GUARD, match=lambda m: isinstance(m, tuple) and len(m) == 4 and m[0] == ref
    )
    assert isinstance(msg, tuple)
    return msg[1], msg[2], msg[3]


ERLANG_MEMBERS = """
{ok, _} = pg:start_link(),
Member = spawn(fun() -> receive stop -> ok end end),
ok = pg:join(erl_group, Member),
{Ref, []} = pg:monitor(<<"py_group">>),
{Own, [Member]} = pg:monitor(erl_group),
io:format("ready~n"),
receive {Ref, join, _, [P]} -> io:format("joined ~s~n", [node(P)]) end,
io:format("members ~p~n", [length(pg:get_members(<<"py_group">>))]),
receive {Ref, leave, _, [_]} -> io:format("left~n") end,
Member ! stop,
receive {Own, leave, _, [Member]} -> ok end,
ok = pg:join(erl_group, self()),
timer:sleep(infinity).
"""


@pytest.mark.erlang
class TestWithErlang:
    def test_members_are_shared_both_ways_and_a_dead_node_leaves(self) -> None:
        py, en = f"{unique('py')}@127.0.0.1", f"{unique('erl')}@127.0.0.1"

        async def main() -> tuple[list[object], list[otp.Pid]]:
            await otp.pg.start_link()
            ref, _ = otp.pg.monitor(Atom("erl_group"))
            async with erlang(en, ERLANG_MEMBERS) as peer:
                await peer.expect("ready")
                assert await otp.connect(en)
                seen: list[object] = [await note(ref)]  # the sync from Erlang's scope
                erl_member = otp.pg.get_members("erl_group")
                worker = otp.spawn(member, "py_group")
                seen.append(await peer.expect("joined"))
                seen.append(await peer.expect("members"))
                otp.send(worker, "stop")
                await peer.expect("left")
                # The Erlang member exits (its node says it left), another joins.
                seen.append(await note(ref))
                seen.append(erl_member[0] in otp.pg.get_members("erl_group"))
                action, _, pids = await note(ref)
                assert action == "join"
                await peer.kill()
                # The Erlang node is gone: its members leave.
                seen.append(await note(ref) == ("leave", "erl_group", pids))
                seen.append(otp.pg.get_members("erl_group"))
                return seen, erl_member

        seen, erl_member = otp.run(main, node=py, cookie=COOKIE)
        assert len(erl_member) == 1 and erl_member[0].node == en
        assert seen == [
            ("join", "erl_group", erl_member),
            py,
            "1",
            ("leave", "erl_group", erl_member),
            False,
            True,
            [],
        ]

    def test_a_lost_connection_removes_the_members_on_both_sides(self) -> None:
        py, en = f"{unique('py')}@127.0.0.1", f"{unique('erl')}@127.0.0.1"
        code = erl(
            """
            {ok, _} = pg:start_link(),
            ok = pg:join(erl_group, self()),
            {Ref, []} = pg:monitor(<<"py_group">>),
            pong = net_adm:ping($PY),
            receive {Ref, join, _, _} -> io:format("joined~n") end,
            receive {Ref, leave, _, _} -> ok end,
            io:format("left ~p~n", [pg:get_members(<<"py_group">>)]),
            timer:sleep(infinity).
            """,
            PY=py,
        )

        async def main() -> list[object]:
            await otp.pg.start_link()
            ref, _ = otp.pg.monitor(Atom("erl_group"))
            otp.pg.join("py_group", otp.self())
            async with erlang(en, code) as peer:
                # Erlang connects to us; our scope finds its scope.
                action, group, pids = await note(ref)
                assert (action, group) == ("join", "erl_group") and pids[0].node == en
                await peer.expect("joined")
                assert otp.disconnect(en)
                seen = [await peer.expect("left"), await note(ref)]
                return [seen[0], seen[1][0], otp.pg.get_members("erl_group")]

        assert run_node(main, py) == ["[]", "leave", []]

    def test_a_visible_python_node_is_discovered_by_both_sides_once(self) -> None:
        py, en = f"{unique('py')}@127.0.0.1", f"{unique('erl')}@127.0.0.1"
        code = erl(
            """
            {ok, _} = pg:start_link(),
            ok = pg:join(erl_group, self()),
            {Ref, []} = pg:monitor(<<"py_group">>),
            pong = net_adm:ping($PY),
            receive {Ref, join, _, _} -> ok end,
            io:format("visible ~p~n", [lists:member($PY, nodes())]),
            io:format("members ~p~n", [length(pg:get_members(<<"py_group">>))]),
            timer:sleep(infinity).
            """,
            PY=py,
        )

        async def scenario(done: asyncio.Future[list[object]]) -> None:
            await otp.pg.start()
            ref, _ = otp.pg.monitor(Atom("erl_group"))
            otp.pg.join("py_group", otp.self())
            async with erlang(en, code) as peer:
                seen: list[object] = [(await note(ref))[:2]]
                seen += [await peer.expect("visible"), await peer.expect("members")]
                seen.append(len(otp.pg.get_members("erl_group")))
            done.set_result(seen)  # once the Erlang node is gone

        async def main() -> list[object]:
            async with otp.Node(py, cookie=COOKIE, hidden=False):
                done: asyncio.Future[list[object]] = asyncio.get_running_loop().create_future()
                otp.spawn(scenario, done)
                async with asyncio.timeout(GUARD):
                    return await done

        assert asyncio.run(main()) == [("join", "erl_group"), "true", "1", 1]


OTHER_NODE = """
import asyncio, sys, otp

async def main():
    await otp.pg.start_link()
    otp.pg.join("theirs", otp.self())
    ref, _ = otp.pg.monitor("ours")
    print("ready", flush=True)
    while True:
        msg = await otp.receive()
        if msg[0] == ref:
            print(msg[1], msg[2], len(msg[3]), msg[3][0].node, flush=True)

otp.run(main, node=sys.argv[1], cookie=sys.argv[2])
"""


class TestTwoPythonNodes:
    def test_two_python_nodes_share_their_groups(self) -> None:
        a, b = f"{unique('a')}@127.0.0.1", f"{unique('b')}@127.0.0.1"

        async def main() -> list[object]:
            await otp.pg.start_link()
            ref, _ = otp.pg.monitor("theirs")
            async with python_node(OTHER_NODE, b, COOKIE) as proc:
                assert proc.stdout is not None
                assert await otp.connect(b)
                action, group, pids = await note(ref)
                seen: list[object] = [(action, group, [p.node for p in pids])]
                otp.pg.join("ours", otp.self())
                async with asyncio.timeout(GUARD):
                    seen.append((await proc.stdout.readline()).decode().split())
                proc.kill()
                action, group, pids = await note(ref)
                seen.append((action, group, otp.pg.get_members("theirs")))
                return seen

        assert otp.run(main, node=a, cookie=COOKIE) == [
            ("join", "theirs", [b]),
            ["join", "ours", "1", a],
            ("leave", "theirs", []),
        ]
