"""Fault injection on a supervision tree, checked step by step against a model.

The tree (strategies and intensities drawn at random)::

    top (permanent a, transient b, temporary c, permanent inner)
    inner (permanent x, transient y)

Each step crashes a running worker, makes one exit normally, or lets 3
virtual seconds pass. After each step the real tree must match the model:
which children exist and run, which pids changed, whether a supervisor
gave up. A call parked in the worker that exits must fail with `otp.Exit`
(never hang), calls to the survivors must return, and calls to a dead pid
must raise `otp.NoProc`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import otp
from otp.testing import VirtualClock, wait_idle

MAX_SECONDS = 5.0
TOP = (("a", "permanent"), ("b", "transient"), ("c", "temporary"), ("inner", "permanent"))
INNER = (("x", "permanent"), ("y", "transient"))
INNER_IDS = {id_ for id_, _ in INNER}
PATIENCE = 1000.0  # virtual seconds: a message that never comes fails the test
STRATEGIES = ("one_for_one", "one_for_all", "rest_for_one")


class Leaf(otp.GenServer):
    """State is its id. `"hold"` is never answered: the caller waits until the leaf exits."""

    def init(self, arg: object) -> object:
        return arg

    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        if request == "hold":
            return otp.NoReply(state)
        if type(request) is tuple and request[0] == "stop":
            return otp.Stop(request[1], state, reply="ok")
        return otp.Reply(state, state)


# -- the model ---------------------------------------------------------------------


@dataclass
class ChildModel:
    id: str
    restart: str
    running: bool = True


@dataclass
class SupModel:
    strategy: str
    max_restarts: int
    layout: tuple[tuple[str, str], ...]
    children: list[ChildModel] = field(default_factory=list)
    restarts: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.children = [ChildModel(id_, restart) for id_, restart in self.layout]

    def find(self, id_: str) -> ChildModel:
        return next(c for c in self.children if c.id == id_)


@dataclass
class TreeModel:
    top: SupModel
    inner: SupModel
    now: float = 0.0
    gave_up: bool = False
    changed: set[str] = field(default_factory=set)

    def running_leaves(self) -> list[str]:
        leaves = [c.id for c in self.top.children if c.running and c.id != "inner"]
        return leaves + [c.id for c in self.inner.children if c.running]

    def exit(self, id_: str, normal: bool) -> None:
        self.changed = set()
        if id_ in INNER_IDS:
            if self._exit(self.inner, id_, normal):
                self._exit(self.top, "inner", normal=True)  # inner exits with "shutdown"
        else:
            self._exit(self.top, id_, normal)

    def _exit(self, sup: SupModel, id_: str, normal: bool) -> bool:
        """Apply a child exit to `sup`; True when `sup` gives up."""
        child = sup.find(id_)
        child.running = False
        if not (child.restart == "permanent" or (child.restart == "transient" and not normal)):
            if child.restart == "temporary":
                sup.children.remove(child)
            return False
        sup.restarts = [t for t in sup.restarts if self.now - t < MAX_SECONDS] + [self.now]
        if len(sup.restarts) > sup.max_restarts:
            if sup is self.top:
                self.gave_up = True
            return True
        index = sup.children.index(child)
        group = {
            "one_for_one": [child],
            "one_for_all": list(sup.children),
            "rest_for_one": sup.children[index:],
        }[sup.strategy]
        for sibling in group:
            if sibling is not child and sibling.restart == "temporary":
                sup.children.remove(sibling)  # stopped with the group, never restarted
                continue
            sibling.running = True
            self.changed.add(sibling.id)
            if sibling.id == "inner":
                self.inner = SupModel(self.inner.strategy, self.inner.max_restarts, INNER)
                self.changed |= INNER_IDS
        return False


# -- the real tree -----------------------------------------------------------------


async def snapshot(top: otp.Pid) -> dict[str, tuple[otp.Pid | None, list[str]]]:
    """`id -> (pid, ...)` for every child of top and inner, plus the row order of each."""
    rows = await otp.Supervisor.which_children(top)
    result: dict[str, tuple[otp.Pid | None, list[str]]] = {}
    order = [str(r.id) for r in rows]
    for r in rows:
        result[str(r.id)] = (r.pid, order)
    inner = result["inner"][0]
    if inner is not None:
        inner_rows = await otp.Supervisor.which_children(inner)
        inner_order = [str(r.id) for r in inner_rows]
        for r in inner_rows:
            result[str(r.id)] = (r.pid, inner_order)
    return result


async def advance(seconds: float) -> None:
    tick = otp.make_ref()
    otp.send_after(otp.self(), tick, seconds)
    await otp.receive(PATIENCE, lambda m: m == tick)


async def wait_down(ref: otp.Ref) -> object:
    msg = await otp.receive(PATIENCE, lambda m: isinstance(m, otp.Down) and m.ref == ref)
    assert isinstance(msg, otp.Down)
    return msg.reason


async def hold(to: otp.Pid, pid: otp.Pid) -> None:
    """Park a call in `pid` and report how it ended."""
    try:
        await otp.call(pid, "hold", timeout=60)
        otp.send(to, ("held", "replied"))
    except otp.CallTimeout:
        otp.send(to, ("held", "hung"))
    except otp.Exit:
        otp.send(to, ("held", "exit"))


def check(model: TreeModel, snap: dict[str, tuple[otp.Pid | None, list[str]]]) -> None:
    assert snap["a"][1] == [c.id for c in model.top.children]
    assert snap["x"][1] == [c.id for c in model.inner.children]
    for sup in (model.top, model.inner):
        for c in sup.children:
            pid = snap[c.id][0]
            assert (pid is not None) == c.running, (c.id, pid)
            assert pid is None or otp.is_alive(pid)


Step = tuple[str, int]


async def scenario(
    clock: VirtualClock, flags: tuple[str, int, str, int], steps: list[Step]
) -> None:
    otp.trap_exit(True)
    s1, m1, s2, m2 = flags
    model = TreeModel(SupModel(s1, m1, TOP), SupModel(s2, m2, INNER))
    inner = otp.Supervisor.child_spec(
        [Leaf.child_spec(id_, id=id_, restart=r) for id_, r in INNER],
        id="inner",
        strategy=s2,
        max_restarts=m2,
        max_seconds=MAX_SECONDS,
    )
    top_children = [Leaf.child_spec(id_, id=id_, restart=r) for id_, r in TOP[:3]] + [inner]
    top = await otp.Supervisor.start_link(  # type: ignore[call-overload]
        top_children,
        strategy=s1,
        max_restarts=m1,
        max_seconds=MAX_SECONDS,
    )
    top_ref = otp.monitor(top)
    snap = await snapshot(top)
    check(model, snap)
    for kind, pick in steps:
        if kind == "wait":
            await advance(3.0)
            model.now += 3.0
            assert clock.time() == model.now
            continue
        target = model.running_leaves()[pick % len(model.running_leaves())]
        pid = snap[target][0]
        assert pid is not None
        otp.spawn(hold, otp.self(), pid)
        await wait_idle()  # the call is parked in the target
        ref = otp.monitor(pid)
        if kind == "crash":
            otp.exit(pid, "boom")
        else:
            assert await otp.call(pid, ("stop", "normal")) == "ok"
        await wait_down(ref)
        assert await otp.receive(PATIENCE, lambda m: type(m) is tuple and m[0] == "held") == (
            "held",
            "exit",
        )
        model.exit(target, normal=kind == "normal")
        if target in INNER_IDS:
            inner_pid = snap["inner"][0]
            assert inner_pid is not None
            try:  # handled after the exit: the inner supervisor has acted on it
                await otp.Supervisor.which_children(inner_pid)
            except otp.Exit as exc:
                # It gave up: while shutting down ("shutdown"), or already gone
                # ("noproc") when it stopped its children within that one exit.
                assert exc.reason in ("shutdown", "noproc")
        if model.gave_up:
            assert await wait_down(top_ref) == "shutdown"
            assert not any(p is not None and otp.is_alive(p) for p, _ in snap.values())
            return
        before = snap
        snap = await snapshot(top)
        check(model, snap)
        for id_, (new, _) in snap.items():
            if new is None or id_ not in before:
                continue
            if id_ == "inner":
                assert (new is not before[id_][0]) == (id_ in model.changed)
                continue
            assert (new is not before[id_][0]) == (id_ in model.changed), (id_, model.changed)
            assert await otp.call(new, "get", timeout=1) == id_
        try:
            await otp.call(pid, "get", timeout=1)
            raise AssertionError("a call to a dead worker returned")
        except otp.NoProc:
            pass
    assert otp.is_alive(top)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    flags=st.tuples(
        st.sampled_from(STRATEGIES),
        st.integers(1, 3),
        st.sampled_from(STRATEGIES),
        st.integers(0, 2),
    ),
    steps=st.lists(
        st.tuples(st.sampled_from(["crash", "normal", "wait"]), st.integers(0, 9)),
        max_size=14,
    ),
)
def test_a_tree_under_random_faults_behaves_like_the_model(
    flags: tuple[str, int, str, int], steps: list[Step]
) -> None:
    clock = VirtualClock()
    clock.run(scenario, clock, flags, steps)
