"""Type-checked only (never run): the public API reads well under `mypy --strict`.

Each function is what a user writes; mypy checks that the types flow
without casts or ignores, and the `reveal`-free asserts document the
expected types.
"""

from __future__ import annotations

from typing import Any, assert_type

import otp


class Counter(otp.GenServer[int]):
    @classmethod
    async def increment(cls, server: otp.Pid | str = "counter") -> int:
        count: int = await otp.call(server, "increment")
        return count

    def init(self, start: int) -> int:
        return start

    def handle_call(self, request: object, from_: otp.From, state: int) -> otp.Reply[int]:
        return otp.Reply(state + 1, state + 1)

    def handle_cast(self, request: object, state: int) -> otp.NoReply[int]:
        return otp.NoReply(state, timeout=1.0)

    def handle_info(self, msg: object, state: int) -> otp.NoReply[int]:
        match msg:
            case otp.Down(ref=ref, reason=reason):
                assert_type(ref, otp.Ref)
                assert_type(reason, object)
            case otp.Exited(pid=pid):
                assert_type(pid, otp.Pid)
            case _:
                pass
        return otp.NoReply(state)


class Workers(otp.Supervisor):
    def init(self, count: object) -> otp.SupervisorSpec | otp.Ignore:
        if count == 0:
            return otp.Ignore()
        return otp.SupervisorSpec([Counter], strategy="one_for_all")


class Sessions(otp.DynamicSupervisor):
    def init(self, limit: object) -> dict[str, object]:
        return {"max_children": limit, "max_restarts": 10}


async def processes() -> None:
    async def child(parent: otp.Pid) -> None:
        otp.send(parent, "hello")

    me = otp.self()
    pid = otp.spawn(child, me)
    assert_type(pid, otp.Pid)
    pid2, ref = otp.spawn_monitor(child, me)
    assert_type(ref, otp.Ref)
    otp.link(pid2)
    timer = otp.send_after(me, "tick", 0.5)
    assert_type(otp.read_timer(timer), float | None)
    assert_type(otp.cancel_timer(timer), float | None)
    assert_type(await otp.receive(timeout=1.0), object)
    assert_type(otp.process_info(pid), dict[str, object] | None)
    assert_type(otp.process_info(pid, "status"), object)
    assert_type(otp.process_info(pid, ["status", "memory"]), dict[str, object] | None)


async def servers() -> None:
    pid = await Counter.start_link(0, name="counter")
    assert_type(pid, otp.Pid | None)
    assert pid is not None  # None when init returned otp.Ignore(): it names nothing
    await otp.call(pid, "increment")
    otp.cast("counter", 1)
    await otp.stop(pid)


async def supervision() -> None:
    sup = await otp.Supervisor.start_link(
        [Counter, (Counter, 1), Counter.child_spec(2, id="third", restart="transient")],
        strategy="rest_for_one",
        restart_delay=otp.Supervisor.backoff(0.1, 5.0),
    )
    assert_type(sup, otp.Pid)  # a children list never ignores
    children = await otp.Supervisor.which_children(sup)
    assert_type(children, list[otp.Child])
    counts = await otp.Supervisor.count_children(sup)
    assert_type(counts, dict[str, int])
    assert_type(await Workers.start_link(3), otp.Pid | None)  # its init may ignore
    await otp.PartitionSupervisor.start_link((Counter, 0), name="counters", partitions=4)
    assert_type(otp.PartitionSupervisor.partitions("counters"), int)
    dyn = await otp.DynamicSupervisor.start_link(max_children=10)
    assert_type(dyn, otp.Pid)  # the options form never ignores
    assert_type(await Sessions.start_link(100, name="sessions"), otp.Pid | None)
    assert_type(await otp.DynamicSupervisor.start_child(dyn, (Counter, 0)), otp.Pid | None)


async def tasks_and_agents() -> None:
    async def square(x: int) -> int:
        return x * x

    task = otp.Task.async_(square, 3)
    assert_type(await task, int)
    assert_type(await otp.Task.await_(task, timeout=1.0), int)
    agent = await otp.Agent.start_link(lambda: 0)
    await otp.Agent.update(agent, lambda n: n + 1)


async def names_and_tables() -> None:
    await otp.Registry.start_link(keys="unique", name="reg")
    await Counter.start_link(0, name=otp.Via("reg", "a"))
    assert_type(otp.Registry.lookup("reg", "a"), list[tuple[otp.Pid, object]])
    assert_type(otp.Registry.count_match("reg", "a", lambda value: value is None), int)
    admins = otp.Registry.select("reg", lambda key, pid, value: key == "a")
    assert_type(admins, list[tuple[object, otp.Pid, object]])
    table = otp.Table(type="ordered_set", access="public")
    table.insert(("k", 1))
    assert_type(table.lookup("k"), list[tuple[object, ...]])
    assert_type(await otp.sys.get_state("counter"), Any)


def from_a_thread(node: otp.Node) -> None:
    async def square(x: int) -> int:
        return x * x

    assert_type(otp.from_thread.call("counter", "increment", 1.0), Any)
    otp.from_thread.cast("counter", 1, node=node)
    otp.from_thread.send("counter", "hello", node="nonode@nohost")
    assert_type(otp.from_thread.run(square, 3), int)
