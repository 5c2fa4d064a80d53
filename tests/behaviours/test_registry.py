"""otp.Registry: unique and duplicate keys, removal on exit, partitions and otp.Via."""

from __future__ import annotations

import importlib.util
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

import otp

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(fn: Callable[[], Awaitable[object]]) -> object:
    async def main() -> object:
        return await fn()

    return otp.run(main)


async def spawn_registrant(
    reg: str, registrations: list[tuple[object, object]]
) -> tuple[otp.Pid, otp.Ref]:
    """A monitored process that registers, reports "registered", and exits on "stop"."""
    parent = otp.self()

    async def body() -> None:
        for key, value in registrations:
            otp.Registry.register(reg, key, value)
        otp.send(parent, ("registered", otp.self()))
        await otp.receive(match=lambda m: m == "stop")

    pid, ref = otp.spawn_monitor(body)
    await otp.receive(match=lambda m: m == ("registered", pid))
    return pid, ref


async def stop_and_wait(pid: otp.Pid, ref: otp.Ref) -> None:
    otp.send(pid, "stop")
    await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == ref)


class Echo(otp.GenServer):
    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        return otp.Reply((request, state), state)

    def handle_cast(self, request: object, state: object) -> Any:
        return otp.NoReply(request)

    def handle_info(self, msg: object, state: object) -> Any:
        return otp.NoReply(("info", msg))


class TestStartLink:
    def test_it_starts_a_process_registered_under_the_name(self) -> None:
        async def main() -> None:
            pid = await otp.Registry.start_link(keys="unique", name="reg")
            assert otp.whereis("reg") is pid
            assert otp.process_info(pid)["trap_exit"] is True  # type: ignore[index]
            assert otp.Registry.count("reg") == 0
            assert otp.Registry.count(pid) == 0  # the pid names it too

        run(main)

    def test_bad_options_raise_before_anything_starts(self) -> None:
        async def main() -> None:
            with pytest.raises(ValueError, match="'unique' or 'duplicate'"):
                await otp.Registry.start_link(keys="many", name="r")  # type: ignore[arg-type]
            with pytest.raises(ValueError, match="positive int"):
                await otp.Registry.start_link(keys="unique", name="r", partitions=0)
            with pytest.raises(TypeError, match="non-empty str"):
                await otp.Registry.start_link(keys="unique", name="")
            assert otp.whereis("r") is None

        run(main)

    def test_a_taken_name_raises_already_started(self) -> None:
        async def main() -> None:
            pid = await otp.Registry.start_link(keys="unique", name="reg")
            with pytest.raises(otp.AlreadyStarted) as info:
                await otp.Registry.start_link(keys="duplicate", name="reg")
            assert info.value.pid is pid

        run(main)

    def test_an_unknown_registry_raises_no_proc_saying_how_to_start_one(self) -> None:
        async def main() -> None:
            with pytest.raises(otp.NoProc, match=r"Registry.lookup: no registry .*start_link"):
                otp.Registry.lookup("nope", "k")
            otp.register("plain", otp.self())
            with pytest.raises(otp.NoProc):
                otp.Registry.register("plain", "k", 1)

        run(main)

    def test_the_registry_is_not_instantiated(self) -> None:
        with pytest.raises(TypeError, match="start_link"):
            otp.Registry()


class TestUnique:
    def test_register_and_lookup(self) -> None:
        async def main() -> None:
            await otp.Registry.start_link(keys="unique", name="reg")
            assert otp.Registry.lookup("reg", "k") == []
            otp.Registry.register("reg", "k", {"v": 1})
            otp.Registry.register("reg", ("other", 2), None)
            me = otp.self()
            assert otp.Registry.lookup("reg", "k") == [(me, {"v": 1})]
            assert otp.Registry.keys("reg", me) == ["k", ("other", 2)]
            assert otp.Registry.values("reg", "k", me) == [{"v": 1}]
            assert otp.Registry.count("reg") == 2

        run(main)

    def test_a_taken_key_raises_already_registered_with_the_holder(self) -> None:
        async def main() -> None:
            await otp.Registry.start_link(keys="unique", name="reg")
            pid, ref = await spawn_registrant("reg", [("k", 1)])
            with pytest.raises(otp.AlreadyRegistered, match="already registered") as info:
                otp.Registry.register("reg", "k", 2)
            assert info.value.pid is pid
            assert otp.Registry.lookup("reg", "k") == [(pid, 1)]
            await stop_and_wait(pid, ref)

        run(main)

    def test_registering_a_held_key_again_raises_too(self) -> None:
        async def main() -> None:
            await otp.Registry.start_link(keys="unique", name="reg")
            otp.Registry.register("reg", "k", 1)
            with pytest.raises(otp.AlreadyRegistered, match="the calling process"):
                otp.Registry.register("reg", "k", 2)

        run(main)

    def test_unregister_frees_the_key_and_only_touches_the_caller(self) -> None:
        async def main() -> None:
            await otp.Registry.start_link(keys="unique", name="reg")
            pid, ref = await spawn_registrant("reg", [("theirs", 1)])
            otp.Registry.unregister("reg", "theirs")  # not ours: nothing happens
            otp.Registry.unregister("reg", "never")
            assert otp.Registry.lookup("reg", "theirs") == [(pid, 1)]
            otp.Registry.register("reg", "mine", 1)
            otp.Registry.unregister("reg", "mine")
            assert otp.Registry.lookup("reg", "mine") == []
            otp.Registry.register("reg", "mine", 2)
            assert otp.Registry.lookup("reg", "mine") == [(otp.self(), 2)]
            await stop_and_wait(pid, ref)

        run(main)

    def test_keys_must_be_hashable(self) -> None:
        async def main() -> None:
            await otp.Registry.start_link(keys="unique", name="reg")
            with pytest.raises(TypeError, match="hashable"):
                otp.Registry.register("reg", ["a", "list"], 1)

        run(main)

    def test_registering_outside_a_process_raises_not_in_process(self) -> None:
        with pytest.raises(otp.NotInProcess):
            otp.Registry.register("reg", "k", 1)


class TestDuplicate:
    def test_many_entries_share_a_key(self) -> None:
        async def main() -> None:
            await otp.Registry.start_link(keys="duplicate", name="dup")
            a, a_ref = await spawn_registrant("dup", [("topic", "a1"), ("topic", "a2")])
            b, b_ref = await spawn_registrant("dup", [("topic", "b"), ("other", "b")])
            assert sorted(otp.Registry.lookup("dup", "topic"), key=str) == sorted(
                [(a, "a1"), (a, "a2"), (b, "b")], key=str
            )
            assert otp.Registry.values("dup", "topic", a) == ["a1", "a2"]
            assert otp.Registry.keys("dup", a) == ["topic", "topic"]
            assert otp.Registry.keys("dup", b) == ["topic", "other"]
            assert otp.Registry.count("dup") == 4
            await stop_and_wait(a, a_ref)
            await stop_and_wait(b, b_ref)

        run(main)

    def test_unregister_removes_all_the_callers_entries_under_the_key(self) -> None:
        async def main() -> None:
            await otp.Registry.start_link(keys="duplicate", name="dup")
            otp.Registry.register("dup", "t", 1)
            otp.Registry.register("dup", "t", 2)
            otp.Registry.register("dup", "u", 3)
            otp.Registry.unregister("dup", "t")
            assert otp.Registry.lookup("dup", "t") == []
            assert otp.Registry.keys("dup", otp.self()) == ["u"]
            assert otp.Registry.count("dup") == 1

        run(main)


class TestRemovalOnExit:
    @pytest.mark.parametrize(("keys", "partitions"), [("unique", 1), ("duplicate", 3)])
    def test_entries_vanish_when_their_process_exits(self, keys: str, partitions: int) -> None:
        async def main() -> None:
            await otp.Registry.start_link(
                keys=keys,  # type: ignore[arg-type]
                name="reg",
                partitions=partitions,
            )
            pid, ref = await spawn_registrant("reg", [("a", 1), ("b", 2)])
            otp.Registry.register("reg", "mine", 0)
            assert otp.Registry.count("reg") == 3
            await stop_and_wait(pid, ref)
            assert otp.Registry.lookup("reg", "a") == []
            assert otp.Registry.keys("reg", pid) == []
            assert otp.Registry.count("reg") == 1
            otp.Registry.register("reg", "a", "again")  # a unique key is free again
            assert otp.Registry.lookup("reg", "a") == [(otp.self(), "again")]

        run(main)

    def test_registrants_are_linked_to_the_registry_until_their_last_key_goes(self) -> None:
        async def main() -> None:
            reg = await otp.Registry.start_link(keys="unique", name="reg")
            me = otp.self()
            otp.unlink(reg)  # drop start_link's link to see the registrant's one
            otp.Registry.register("reg", "a", 1)
            otp.Registry.register("reg", "b", 1)
            assert reg in otp.process_info(me)["links"]  # type: ignore[operator,index]
            otp.Registry.unregister("reg", "a")
            assert reg in otp.process_info(me)["links"]  # type: ignore[operator,index]
            otp.Registry.unregister("reg", "b")
            assert reg not in otp.process_info(me)["links"]  # type: ignore[operator,index]

        run(main)

    def test_registrants_exit_with_a_crashing_registry(self) -> None:
        async def main() -> None:
            otp.trap_exit(True)
            reg = await otp.Registry.start_link(keys="unique", name="reg")
            _, ref = await spawn_registrant("reg", [("k", 1)])
            otp.exit(reg, "kill")
            down = await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == ref)
            assert isinstance(down, otp.Down) and down.reason == "killed"
            with pytest.raises(otp.NoProc, match="no registry is running as 'reg'"):
                otp.Registry.lookup("reg", "k")

        run(main)


class TestMatchCountDispatch:
    def test_match_keeps_entries_whose_value_satisfies_the_predicate(self) -> None:
        async def main() -> None:
            await otp.Registry.start_link(keys="duplicate", name="dup")
            for n in range(5):
                otp.Registry.register("dup", "n", n)
            me = otp.self()
            odd = otp.Registry.match("dup", "n", lambda v: v % 2 == 1)  # type: ignore[operator]
            assert odd == [(me, 1), (me, 3)]
            assert otp.Registry.match("dup", "missing", lambda v: True) == []

        run(main)

    def test_dispatch_calls_fn_with_the_entries_and_not_when_there_are_none(self) -> None:
        async def main() -> None:
            await otp.Registry.start_link(keys="duplicate", name="dup")
            otp.Registry.register("dup", "t", "x")
            calls: list[object] = []
            otp.Registry.dispatch("dup", "t", calls.append)
            otp.Registry.dispatch("dup", "none", calls.append)
            assert calls == [[(otp.self(), "x")]]

        run(main)

    def test_dispatch_on_a_partitioned_registry_calls_fn_per_partition(self) -> None:
        async def main() -> None:
            await otp.Registry.start_link(keys="duplicate", name="dup", partitions=4)
            stops = [await spawn_registrant("dup", [("t", n)]) for n in range(8)]
            batches: list[list[tuple[otp.Pid, object]]] = []
            otp.Registry.dispatch("dup", "t", batches.append)
            assert 1 < len(batches) <= 4
            assert sorted(v for batch in batches for _, v in batch) == list(range(8))  # type: ignore[type-var]
            for pid, ref in stops:
                await stop_and_wait(pid, ref)

        run(main)

    def test_dispatch_refuses_an_async_function(self) -> None:
        async def main() -> None:
            await otp.Registry.start_link(keys="duplicate", name="dup")
            otp.Registry.register("dup", "t", "x")

            async def fn(entries: list[tuple[otp.Pid, object]]) -> None:
                pass

            with pytest.raises(TypeError, match="plain function"):
                otp.Registry.dispatch("dup", "t", fn)

        run(main)


class TestCountMatch:
    def test_counts_the_entries_of_every_process_whose_value_matches(self) -> None:
        async def main() -> None:
            await otp.Registry.start_link(keys="duplicate", name="dup")
            await spawn_registrant("dup", [("k", 1), ("k", 2), ("other", 2)])
            otp.Registry.register("dup", "k", 2)
            otp.Registry.register("dup", "k", 3)
            assert otp.Registry.count_match("dup", "k", lambda v: v == 2) == 2
            assert otp.Registry.count_match("dup", "k", lambda v: True) == 4
            assert otp.Registry.count_match("dup", "k", lambda v: v == 9) == 0
            assert otp.Registry.count_match("dup", "missing", lambda v: True) == 0

        run(main)

    def test_in_a_unique_registry_it_is_zero_or_one(self) -> None:
        # Elixir's example: {1, :atom, 1} under "hello", matched by {1, :_, :_}, {2, :_, :_}.
        async def main() -> None:
            await otp.Registry.start_link(keys="unique", name="reg")
            otp.Registry.register("reg", "hello", (1, "atom", 1))
            assert otp.Registry.count_match("reg", "hello", lambda v: v[0] == 1) == 1  # type: ignore[index]
            assert otp.Registry.count_match("reg", "hello", lambda v: v[0] == 2) == 0  # type: ignore[index]

        run(main)


class TestUnregisterMatch:
    def test_removes_only_the_callers_matching_entries_under_the_key(self) -> None:
        async def main() -> None:
            await otp.Registry.start_link(keys="duplicate", name="dup")
            other, _ = await spawn_registrant("dup", [("hello", "world")])
            me = otp.self()
            otp.Registry.register("dup", "hello", "world")
            otp.Registry.register("dup", "hello", "still_here")
            otp.Registry.register("dup", "bye", "world")
            otp.Registry.unregister_match("dup", "hello", lambda v: v == "world")
            assert sorted(otp.Registry.lookup("dup", "hello")) == sorted(
                [(me, "still_here"), (other, "world")]
            )
            assert otp.Registry.lookup("dup", "bye") == [(me, "world")]
            assert sorted(otp.Registry.keys("dup", me)) == ["bye", "hello"]  # type: ignore[type-var]
            assert otp.Registry.count("dup") == 3

        run(main)

    def test_in_a_unique_registry_a_value_that_does_not_match_stays(self) -> None:
        async def main() -> None:
            await otp.Registry.start_link(keys="unique", name="reg")
            me = otp.self()
            otp.Registry.register("reg", "k", 1)
            otp.Registry.unregister_match("reg", "k", lambda v: v == 2)
            assert otp.Registry.lookup("reg", "k") == [(me, 1)]
            otp.Registry.unregister_match("reg", "k", lambda v: v == 1)
            assert otp.Registry.lookup("reg", "k") == []
            otp.Registry.register("reg", "k", 3)  # the key is free again
            assert otp.Registry.count("reg") == 1

        run(main)

    def test_another_processs_unique_entry_is_not_touched(self) -> None:
        async def main() -> None:
            await otp.Registry.start_link(keys="unique", name="reg")
            other, _ = await spawn_registrant("reg", [("k", 1)])
            otp.Registry.unregister_match("reg", "k", lambda v: True)
            assert otp.Registry.lookup("reg", "k") == [(other, 1)]

        run(main)

    def test_removing_the_last_entry_unlinks_the_caller_from_the_registry(self) -> None:
        async def main() -> None:
            reg = await otp.Registry.start_link(keys="duplicate", name="dup", partitions=3)
            me = otp.self()
            otp.unlink(reg)  # drop start_link's link to see the registrant's one
            otp.Registry.register("dup", "k", 1)
            otp.Registry.register("dup", "k", 2)
            otp.Registry.unregister_match("dup", "k", lambda v: v == 1)
            assert reg in otp.process_info(me)["links"]  # type: ignore[operator,index]
            otp.Registry.unregister_match("dup", "k", lambda v: v == 2)
            assert reg not in otp.process_info(me)["links"]  # type: ignore[operator,index]
            assert otp.Registry.keys("dup", me) == []
            assert otp.Registry.count("dup") == 0

        run(main)


class TestSelect:
    def test_without_a_predicate_it_returns_every_key_pid_value_triple(self) -> None:
        # Elixir's select-all example: [{{:"$1", :"$2", :"$3"}, [], [{{:"$1", :"$2", :"$3"}}]}]
        async def main() -> None:
            await otp.Registry.start_link(keys="unique", name="reg", partitions=2)
            me = otp.self()
            otp.Registry.register("reg", "hello", "value")
            otp.Registry.register("reg", "world", "value")
            assert sorted(otp.Registry.select("reg")) == [
                ("hello", me, "value"),
                ("world", me, "value"),
            ]

        run(main)

    def test_the_predicate_sees_key_pid_and_value_of_every_process(self) -> None:
        async def main() -> None:
            await otp.Registry.start_link(keys="duplicate", name="dup")
            other, _ = await spawn_registrant("dup", [("a", 1), ("b", 2)])
            me = otp.self()
            otp.Registry.register("dup", "a", 3)
            otp.Registry.register("dup", "a", 4)
            by_value = otp.Registry.select("dup", lambda key, pid, value: value % 2 == 0)  # type: ignore[operator]
            assert sorted(v for _, _, v in by_value) == [2, 4]  # type: ignore[type-var]
            by_pid = otp.Registry.select("dup", lambda key, pid, value: pid is other)
            assert sorted(k for k, _, _ in by_pid) == ["a", "b"]  # type: ignore[type-var]
            by_key = otp.Registry.select("dup", lambda key, pid, value: key == "a")
            assert len(by_key) == 3 and {p for _, p, _ in by_key} == {me, other}
            assert otp.Registry.select("dup", lambda key, pid, value: False) == []

        run(main)


class TestUpdateValueAndMeta:
    def test_update_value_changes_the_callers_value(self) -> None:
        async def main() -> None:
            await otp.Registry.start_link(keys="unique", name="reg")
            otp.Registry.register("reg", "k", 1)
            assert otp.Registry.update_value("reg", "k", lambda v: v + 1) == (2, 1)  # type: ignore[operator]
            assert otp.Registry.lookup("reg", "k") == [(otp.self(), 2)]
            assert otp.Registry.update_value("reg", "missing", lambda v: v) is None
            pid, ref = await spawn_registrant("reg", [("theirs", 1)])
            assert otp.Registry.update_value("reg", "theirs", lambda v: 99) is None
            assert otp.Registry.lookup("reg", "theirs") == [(pid, 1)]
            await stop_and_wait(pid, ref)

        run(main)

    def test_update_value_needs_a_unique_registry(self) -> None:
        async def main() -> None:
            await otp.Registry.start_link(keys="duplicate", name="dup")
            with pytest.raises(ValueError, match="unique registry"):
                otp.Registry.update_value("dup", "k", lambda v: v)

        run(main)

    def test_meta_is_none_until_put_and_starts_from_the_option(self) -> None:
        async def main() -> None:
            await otp.Registry.start_link(keys="unique", name="reg", meta={"owner": "me"})
            assert otp.Registry.meta("reg", "owner") == "me"
            assert otp.Registry.meta("reg", "other") is None
            otp.Registry.put_meta("reg", "other", [1, 2])
            assert otp.Registry.meta("reg", "other") == [1, 2]

        run(main)

    def test_delete_meta_removes_the_key_and_tolerates_an_absent_one(self) -> None:
        async def main() -> None:
            await otp.Registry.start_link(keys="unique", name="reg")
            otp.Registry.put_meta("reg", "custom_key", "custom_value")
            assert otp.Registry.meta("reg", "custom_key") == "custom_value"
            otp.Registry.delete_meta("reg", "custom_key")
            assert otp.Registry.meta("reg", "custom_key") is None
            otp.Registry.delete_meta("reg", "never_put")

        run(main)


class TestPartitions:
    def test_a_partitioned_unique_registry_behaves_like_one_table(self) -> None:
        async def main() -> None:
            await otp.Registry.start_link(keys="unique", name="reg", partitions=4)
            pid, ref = await spawn_registrant("reg", [(n, n) for n in range(0, 20, 2)])
            for n in range(1, 20, 2):
                otp.Registry.register("reg", n, n)
            me = otp.self()
            for n in range(20):
                assert otp.Registry.lookup("reg", n) == [(pid if n % 2 == 0 else me, n)]
            assert sorted(otp.Registry.keys("reg", pid)) == list(range(0, 20, 2))  # type: ignore[type-var]
            assert otp.Registry.count("reg") == 20
            with pytest.raises(otp.AlreadyRegistered):
                otp.Registry.register("reg", 4, "taken")
            await stop_and_wait(pid, ref)
            assert otp.Registry.count("reg") == 10

        run(main)


class TestVia:
    def test_a_server_named_through_a_registry_is_reachable_everywhere(self) -> None:
        async def main() -> None:
            await otp.Registry.start_link(keys="unique", name="reg")
            name = otp.Via("reg", ("echo", 1))
            pid = await Echo.start_link("state", name=name)
            assert otp.whereis(name) is pid
            assert otp.Registry.lookup("reg", ("echo", 1)) == [(pid, None)]
            assert await otp.call(name, "hi") == ("hi", "state")
            otp.cast(name, "cast-state")
            assert await otp.call(name, "again") == ("again", "cast-state")
            otp.send(name, "sent")
            assert await otp.call(name, "last") == ("last", ("info", "sent"))
            await otp.stop(name)
            assert otp.whereis(name) is None
            assert otp.Registry.lookup("reg", ("echo", 1)) == []
            with pytest.raises(otp.NoProc):
                otp.send(name, "nobody")
            with pytest.raises(otp.NoProc):
                await otp.call(name, "nobody")
            otp.cast(name, "nobody")  # a cast never raises

        run(main)

    def test_a_taken_via_name_raises_already_started_with_the_holder(self) -> None:
        async def main() -> None:
            await otp.Registry.start_link(keys="unique", name="reg")
            pid = await Echo.start_link(None, name=otp.Via("reg", "one"))
            with pytest.raises(otp.AlreadyStarted) as info:
                await Echo.start_link(None, name=otp.Via("reg", "one"))
            assert info.value.pid is pid
            assert otp.Registry.count("reg") == 1

        run(main)

    def test_the_name_is_free_again_after_the_server_exits(self) -> None:
        async def main() -> None:
            await otp.Registry.start_link(keys="unique", name="reg")
            name = otp.Via("reg", "w")
            first = await Echo.start(None, name=name)
            assert first is not None
            ref = otp.monitor(first)
            otp.exit(first, "kill")
            await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == ref)
            second = await Echo.start(None, name=name)
            assert second is not first and otp.whereis(name) is second

        run(main)

    def test_via_needs_a_running_unique_registry(self) -> None:
        async def main() -> None:
            with pytest.raises(otp.NoProc, match="not a running registry"):
                await Echo.start_link(None, name=otp.Via("missing", "k"))
            with pytest.raises(otp.NoProc, match="not a running registry"):
                otp.whereis(otp.Via("missing", "k"))
            await otp.Registry.start_link(keys="duplicate", name="dup")
            with pytest.raises(ValueError, match="unique keys"):
                otp.whereis(otp.Via("dup", "k"))

        run(main)


class TestSupervision:
    def test_a_supervised_registry_names_its_siblings(self) -> None:
        async def main() -> None:
            spec = otp.Registry.child_spec(keys="unique", name="reg")
            assert spec.id == "reg"
            echo = Echo.child_spec("s", name=otp.Via("reg", "echo"))
            sup = await otp.Supervisor.start_link([spec, echo], strategy="rest_for_one")
            assert await otp.call(otp.Via("reg", "echo"), "hi") == ("hi", "s")
            children = await otp.Supervisor.which_children(sup)
            assert [c.id for c in children] == ["reg", Echo]
            assert otp.Registry.lookup("reg", "echo") == [(children[1].pid, None)]

        run(main)


def test_the_pubsub_example_delivers_each_event_to_its_subscribers() -> None:
    spec = importlib.util.spec_from_file_location("pubsub_example", EXAMPLES / "pubsub.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = otp.run(module.main)
    assert results == {
        "sent": [2, 2, 1 + 1],
        "ann": ["news:rain", "news:sun"],
        "bob": ["news:rain", "sport:goal", "news:sun"],
        "cat": ["sport:goal"],
        "left": 0,
    }
