"""otp.Global: names in one node's table, the table's locks, the locker's lock ids, two nodes.

The local tests run on the virtual clock. The two-node tests start a second
visible Python node in a subprocess; each side waits for the other's answer
or output line, with bounds that only guard against hangs.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from erlang_nodes import COOKIE, GUARD, unique
from node_helpers import python_node

import otp
from otp import Atom
from otp._runtime._ids import _new_remote_pid
from otp._runtime._scheduler import self_process
from otp.distribution._global_cluster import Cluster
from otp.distribution._global_locker import lock_id, pid_order
from otp.distribution._global_table import GLOBAL, GlobalTable, key_of, table_of
from otp.testing import VirtualClock


class Echo(otp.GenServer):
    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        return otp.Reply(("echo", request), state)

    def handle_cast(self, request: object, state: object) -> Any:
        return otp.NoReply(request)

    def handle_info(self, msg: object, state: object) -> Any:
        return otp.NoReply(msg)


class TestNamesOfOneNode:
    def test_a_server_started_under_a_global_name_is_found_by_it(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await Echo.start_link(None, name=otp.Global("echo"))
            return otp.whereis(otp.Global("echo")) == pid, await otp.call(otp.Global("echo"), 1)

        assert clock.run(main) == (True, ("echo", 1))

    def test_casts_sends_and_stops_reach_the_holder(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await Echo.start(None, name=otp.Global("echo"))
            assert pid is not None
            otp.cast(otp.Global("echo"), "cast")
            cast = await otp.sys.get_state(pid)
            otp.send(otp.Global("echo"), "sent")
            sent = await otp.sys.get_state(pid)
            await otp.stop(otp.Global("echo"))
            return cast, sent, otp.is_alive(pid)

        assert clock.run(main) == ("cast", "sent", False)

    def test_a_taken_name_fails_with_the_holder(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await Echo.start_link(None, name=otp.Global("echo"))
            with pytest.raises(otp.AlreadyStarted) as info:
                await Echo.start_link(None, name=otp.Global("echo"))
            return info.value.pid == pid, len(otp.processes())

        assert clock.run(main) == (True, 2)

    def test_the_name_is_free_once_its_holder_exited(self, clock: VirtualClock) -> None:
        async def main() -> object:
            pid = await Echo.start(None, name=otp.Global("echo"))
            assert pid is not None
            await otp.stop(pid)
            gone = otp.whereis(otp.Global("echo"))
            again = await Echo.start(None, name=otp.Global("echo"))
            return gone, otp.whereis(otp.Global("echo")) == again

        assert clock.run(main) == (None, True)

    def test_a_name_nobody_holds_is_noproc(self, clock: VirtualClock) -> None:
        async def main() -> object:
            assert otp.whereis(otp.Global("nobody")) is None
            with pytest.raises(otp.NoProc):
                otp.send(otp.Global("nobody"), "x")
            with pytest.raises(otp.NoProc):
                await otp.call(otp.Global("nobody"), "x")
            return True

        assert clock.run(main)

    def test_any_hashable_term_names_and_lists_are_frozen(self, clock: VirtualClock) -> None:
        async def main() -> object:
            await Echo.start(None, name=otp.Global(("pool", 1)))
            await Echo.start(None, name=otp.Global(["a", "b"]))
            return (
                await otp.call(otp.Global(("pool", 1)), "t"),
                await otp.call(otp.Global(["a", "b"]), "l"),
            )

        assert clock.run(main) == (("echo", "t"), ("echo", "l"))

    def test_an_unhashable_name_is_a_type_error_that_says_so(self, clock: VirtualClock) -> None:
        async def main() -> object:
            with pytest.raises(TypeError, match="hashable"):
                await Echo.start(None, name=otp.Global({1, 2}))
            return True

        assert clock.run(main)

    def test_a_hidden_node_keeps_its_global_names_to_itself(self) -> None:
        async def main() -> object:
            pid = await Echo.start_link(None, name=otp.Global("echo"))
            return otp.whereis("global_name_server"), otp.whereis(otp.Global("echo")) == pid

        name = f"{unique('hidden')}@127.0.0.1"
        assert otp.run(main, node=name, cookie=COOKIE) == (None, True)

    def test_a_visible_node_runs_the_global_name_server(self) -> None:
        async def main() -> object:
            return otp.whereis("global_name_server") is not None

        name = f"{unique('visible')}@127.0.0.1"
        assert otp.run(main, node=name, cookie=COOKIE, hidden=False)


class TestKeys:
    def test_a_str_name_is_an_atom_on_the_wire(self) -> None:
        assert type(key_of("x")) is Atom and key_of("x") == "x"

    def test_other_terms_stay_as_they_are(self) -> None:
        assert key_of(b"x") == b"x" and key_of((1, "a")) == (1, "a")


class TestLocks:
    def test_one_requester_id_holds_a_resource_and_shares_it(self, clock: VirtualClock) -> None:
        async def main() -> object:
            table = GlobalTable()
            a, b = otp.spawn(otp.receive), otp.spawn(otp.receive)
            return [
                table.set_lock(("res", "one"), a),
                table.set_lock(("res", "one"), b),
                table.set_lock(("res", "two"), a),
                table.set_lock(("res", "one"), a),
                table.can_set_lock(("res", "two")),
            ]

        assert clock.run(main) == [None, None, False, True, False]

    def test_the_last_holder_that_leaves_frees_the_resource(self, clock: VirtualClock) -> None:
        async def main() -> object:
            table = GlobalTable()
            a, b = otp.spawn(otp.receive), otp.spawn(otp.receive)
            table.set_lock(("res", "one"), a)
            table.set_lock(("res", "one"), b)
            table.del_lock(("res", "one"), a)
            held = table.can_set_lock(("res", "two"))
            table.del_lock(("res", "one"), b)
            return held, table.can_set_lock(("res", "two"))

        assert clock.run(main) == (False, True)

    def test_a_holder_that_exits_loses_its_names_and_locks(self, clock: VirtualClock) -> None:
        async def main() -> object:
            table = table_of(self_process().rt)
            pid = otp.spawn(otp.receive)
            table.insert(Atom("n"), pid, None, None)
            table.set_lock((GLOBAL, "me"), pid)
            ref = otp.monitor(pid)
            otp.exit(pid, "kill")
            await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == ref)
            return table.whereis_name("n"), table.is_global_lock_set(), table.global_lock_down

        assert clock.run(main) == (None, False, True)

    def test_a_node_that_goes_down_takes_its_names_and_locks(self) -> None:
        table = GlobalTable()
        far = _new_remote_pid("far@h", 1, 0, 1)
        near = _new_remote_pid("near@h", 1, 0, 1)
        table.insert(Atom("far"), far, None, None)
        table.insert(Atom("near"), near, None, None)
        table.set_lock(("res", "x"), far)
        table.drop_node("far@h")
        assert (table.whereis_name("far"), table.whereis_name("near")) == (None, near)
        assert table.can_set_lock(("res", "y"))


class TestLockIds:
    def test_pids_sort_by_serial_then_number_then_node_as_in_erlang(self) -> None:
        # Orders that erl 25 gives for lists:sort/1 of the same pids.
        a5, z5 = _new_remote_pid("aaa@h", 5, 0, 1), _new_remote_pid("zzz@h", 5, 0, 1)
        a5s1, b6 = _new_remote_pid("a@h", 5, 1, 1), _new_remote_pid("b@h", 6, 0, 1)
        z1, a100 = _new_remote_pid("zzz@h", 1, 0, 1), _new_remote_pid("aaa@h", 100, 0, 1)
        assert sorted([z5, a5], key=pid_order) == [a5, z5]
        assert sorted([a5s1, b6], key=pid_order) == [b6, a5s1]
        assert sorted([a100, z1], key=pid_order) == [z1, a100]

    def test_both_lockers_compute_the_same_lock_id(self) -> None:
        a, b = _new_remote_pid("a@h", 7, 0, 1), _new_remote_pid("b@h", 3, 0, 1)
        assert lock_id(a, b) == lock_id(b, a) == (GLOBAL, [b, a])


INSERT = Atom("insert")


class TestSyncSteps:
    def test_new_names_of_the_other_side_become_inserts(self, clock: VirtualClock) -> None:
        async def main() -> object:
            cluster = Cluster(self_process(), table_of(otp.self().rt))  # type: ignore[attr-defined]
            ours, theirs = otp.spawn(otp.receive), otp.spawn(otp.receive)
            cluster.table.insert(Atom("same"), ours, None, None)
            names: list[object] = [(Atom("same"), ours, None), (Atom("new"), theirs, None)]
            ops, resolved = cluster.exchange_names(names, "other@h")
            return ops == [(INSERT, (Atom("new"), theirs, None))], resolved

        assert clock.run(main) == (True, [])

    def test_both_sides_operations_apply_once_both_arrived(self, clock: VirtualClock) -> None:
        async def main() -> object:
            cluster = Cluster(self_process(), table_of(otp.self().rt))  # type: ignore[attr-defined]
            mine, theirs = otp.spawn(otp.receive), otp.spawn(otp.receive)
            cluster.put("sync_tag_my", "other@h", 1)
            cluster.got_resolved("other@h", [(INSERT, (Atom("theirs"), theirs, None))], [])
            early = cluster.table.whereis_name("theirs")
            cluster.exchange_ops("other@h", [(INSERT, (Atom("mine"), mine, None))], [])
            return (
                early,
                cluster.table.whereis_name("theirs") == theirs,
                cluster.table.whereis_name("mine") == mine,
                cluster.synced,
                cluster.known,
            )

        assert clock.run(main) == (None, True, True, ["other@h"], {"other@h": 8})

    def test_a_sync_with_no_node_to_wait_for_is_answered_at_once(self, clock: VirtualClock) -> None:
        async def main() -> object:
            cluster = Cluster(self_process(), table_of(otp.self().rt))  # type: ignore[attr-defined]
            return cluster.sync(["nowhere@h"], None)  # type: ignore[arg-type]

        assert clock.run(main) is True

    def test_a_registration_outside_the_lock_is_undone(self, clock: VirtualClock) -> None:
        async def main() -> object:
            cluster = Cluster(self_process(), table_of(otp.self().rt))  # type: ignore[attr-defined]
            holder, registrar, other = (otp.spawn(otp.receive) for _ in range(3))
            cluster.set_lock((Atom("global"), registrar), registrar)
            cluster.ins_name(Atom("x"), holder, None, other, [])
            return cluster.table.whereis_name("x")

        assert clock.run(main) is None


OTHER_NODE = """
import sys, otp

class Echo(otp.GenServer):
    def handle_call(self, request, from_, state):
        return otp.Reply(("b", request), state)

async def main():
    await Echo.start_link(None, name=otp.Global("b_echo"))
    otp.register("tester", otp.self())
    print("ready", flush=True)
    while True:
        msg = await otp.receive()
        if msg == "sync":
            await otp.call("global_name_server", (otp.Atom("sync"), [otp.Atom(sys.argv[3])]))
            print("synced", flush=True)
        elif msg == "look":
            pid = otp.whereis(otp.Global("a_echo"))
            reply = await otp.call(otp.Global("a_echo"), "from b")
            print("found", pid.node, reply[0], flush=True)

otp.run(main, node=sys.argv[1], cookie=sys.argv[2], hidden=False)
"""


class TestTwoPythonNodes:
    def test_two_visible_python_nodes_share_their_global_names(self) -> None:
        a, b = f"{unique('a')}@127.0.0.1", f"{unique('b')}@127.0.0.1"

        async def main() -> list[object]:
            async with python_node(OTHER_NODE, b, COOKIE, a) as proc:
                assert proc.stdout is not None
                assert await otp.connect(b)
                synced = await otp.call(
                    "global_name_server", (Atom("sync"), [Atom(b)]), timeout=GUARD
                )
                theirs = otp.whereis(otp.Global("b_echo"))
                assert theirs is not None
                seen: list[object] = [synced, theirs.node == b]
                seen.append(await otp.call(otp.Global("b_echo"), "from a"))
                with pytest.raises(otp.AlreadyStarted) as info:
                    await Echo.start_link(None, name=otp.Global("b_echo"))
                seen.append(info.value.pid == theirs)
                await Echo.start_link(None, name=otp.Global("a_echo"))
                otp.send(("tester", b), "look")
                async with asyncio.timeout(GUARD):
                    seen.append((await proc.stdout.readline()).decode().split())
                return seen

        assert otp.run(main, node=a, cookie=COOKIE, hidden=False) == [
            "ok",
            True,
            ("b", "from a"),
            True,
            ["found", a, "echo"],
        ]
