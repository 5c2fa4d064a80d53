"""The locker of `:global`: it takes the cluster-wide lock before two nodes sync.

When a connection comes up, the global name servers of both ends introduce
their lockers (`his_the_locker`, from `init_connect`). Before the two nodes
exchange their names, one locker must hold the resource `global` on every
node either side knows, with the lock id `{global, lists:sort([L1, L2])}`
that both lockers compute alike, so that each can join the other's lock:

1. Every so often (at once after a sync, 0.2 s with no known nodes, else
   1 s plus 0.1 s per known node, at most 3 s) a locker with peers waiting
   picks one whose node it does not know yet and locks: first on the boss
   (the greatest node name of its own partition), then on itself and the
   peer, then on the rest of its partition, each with
   `gen_server:multi_call(Nodes, global_name_server, {set_lock, Id})`. It
   undoes what it took if any node refuses.
2. It then tells the peer's locker `{lock_set, Self, true, Known, HisTag}`
   (through the peer's name server). The peer locks its own partition the
   same way and answers `{lock_set, Pid, true|false, ...}`.
3. With both partitions locked each locker tells its name server
   `{lock_is_set, Node, Tag, LockId}`, and waits until the server cancels it
   (the names are exchanged meanwhile); then it releases the lock on every
   node, the boss last.

Pids sort as Erlang sorts them (serial, number, node, creation), so a Python
locker and an Erlang one agree on the lock id. The locker runs as a plain
process, linked to the name server.
"""

from __future__ import annotations

import logging
import random
from typing import TYPE_CHECKING, Final, final

from .._behaviours._gen_server_client import call, cast
from .._errors import Exit
from .._runtime._ids import Pid
from .._runtime._mailbox import receive
from .._runtime._repr import shown
from .._runtime._scheduler import current_node, self_process
from .._runtime._spawning import make_ref
from .._runtime._terms import Atom
from ._global_table import GLOBAL, table_of

if TYPE_CHECKING:
    from ._global_table import GlobalTable

logger = logging.getLogger("otp")

SERVER: Final = "global_name_server"
LOCK_SET: Final = Atom("lock_set")
SET_LOCK: Final = Atom("set_lock")
DEL_LOCK: Final = Atom("del_lock")


def pid_order(pid: Pid) -> tuple[int, int, str, int]:
    """Erlang's term order of pids."""
    return (pid._serial, pid._id, pid._node_name, pid._creation)


def lock_id(a: Pid, b: Pid) -> tuple[object, list[Pid]]:
    """OTP's `{global, lists:sort([A, B])}`."""
    return (GLOBAL, sorted([a, b], key=pid_order))


async def pause(seconds: float) -> None:
    """Wait `seconds` without touching the mailbox (OTP's `receive after`)."""
    ref = make_ref()
    try:
        await receive(timeout=seconds, match=lambda m: m is ref)
    except TimeoutError:
        pass


async def random_sleep(times: int) -> None:
    """OTP's back-off between lock attempts: up to 1/8 s doubling, at most 8 s."""
    tmax = 8.0 if times > 5 else (1 << times) / 8
    await pause(random.uniform(0, tmax))


async def multi_call(nodes: list[str], request: object) -> list[tuple[str, object]]:
    """`gen_server:multi_call(Nodes, global_name_server, Request)`: the replies only."""
    me = current_node().name
    replies: list[tuple[str, object]] = []
    for node in nodes:
        try:
            reply = await call(SERVER if node == me else (SERVER, node), request, None)
        except Exit:  # NoProc, NoConnection: a bad node, left out as OTP does
            continue
        replies.append((node, reply))
    return replies


async def set_lock_on_nodes(table: GlobalTable, lock: object, nodes: list[str]) -> bool:
    """One attempt to take `lock` on all `nodes`; on a refusal give back what was taken."""
    if not nodes:
        return True
    me = current_node().name
    if len(nodes) > 1 and me in nodes and not table.can_set_lock(lock):
        return False
    replies = await multi_call(nodes, (SET_LOCK, lock))
    if all(reply is True for _, reply in replies):
        return True
    if len(replies) > 1:
        await multi_call([n for n, reply in replies if reply is True], (DEL_LOCK, lock))
    return False


async def del_lock(lock: object, nodes: list[str]) -> None:
    await multi_call(nodes, (DEL_LOCK, lock))


async def delete_global_lock(lock: object, nodes: list[str]) -> None:
    """Release `lock` on `nodes`, the boss last."""
    boss = max(nodes)
    await del_lock(lock, [n for n in nodes if n != boss])
    await del_lock(lock, [boss])


@final
class _Him:
    """A peer node's locker we may lock with, and the tags of that connection."""

    __slots__ = ("his_tag", "locker", "my_tag", "node", "vsn")

    def __init__(self, locker: Pid, vsn: int, his_tag: object, my_tag: object) -> None:
        self.locker = locker
        self.node = locker.node
        self.vsn = vsn
        self.his_tag = his_tag
        self.my_tag = my_tag


@final
class Locker:
    """The locker's state: peers waiting, the nodes of our partition, the boss."""

    def __init__(self) -> None:
        self.me = self_process()
        self.node = self.me.rt.name
        self.table = table_of(self.me.rt)
        self.hims: list[_Him] = []
        self.known: list[str] = []
        self.just_synced = False

    @property
    def boss(self) -> str:
        return max([self.node, *self.known])

    def timeout(self) -> float | None:
        if not self.hims:
            return None
        if self.just_synced:
            return 0
        return 0.2 if not self.known else min(1 + 0.1 * len(self.known), 3)

    async def run(self) -> None:
        while True:
            timeout = self.timeout()
            self.just_synced = False
            try:
                msg = await receive(timeout=timeout)
            except TimeoutError:
                msg = None
            try:
                if msg is not None:
                    await self.handle(msg)
                elif not self.table.is_global_lock_set():
                    await self.select_node()
            except Exception:  # a malformed message must not stop the node's global
                logger.exception("global locker: cannot handle %s", shown(msg))

    async def handle(self, msg: object) -> None:
        if type(msg) is not tuple or not msg:
            return
        tag = msg[0]
        if tag == "his_the_locker" and len(msg) == 5 and isinstance(msg[1], Pid):
            self.hims.append(_Him(msg[1], msg[2], msg[3], msg[4]))
        elif tag == "cancel" and len(msg) == 3:
            self.remove(msg[1], msg[2])
        elif tag == "add_to_known" or tag == "remove_from_known":
            self.update_known(msg)
        elif tag == LOCK_SET and len(msg) in (4, 5) and isinstance(msg[1], Pid):
            if msg[2] is True:
                await self.lock_asked(msg[1], msg[4] if len(msg) == 5 else None)

    def update_known(self, msg: tuple[object, ...]) -> None:
        if msg[0] == "add_to_known" and isinstance(msg[1], list):
            self.known = [n for n in msg[1] if isinstance(n, str)] + self.known
        elif msg[0] == "remove_from_known" and msg[1] in self.known:
            self.known.remove(msg[1])

    async def drain_known(self) -> None:
        """OTP's `update_locker_known/1`: take the queued changes of the partition."""
        while True:
            try:
                msg = await receive(
                    timeout=0,
                    match=lambda m: (
                        type(m) is tuple
                        and len(m) == 2
                        and m[0] in ("add_to_known", "remove_from_known")
                    ),
                )
            except TimeoutError:
                return
            assert type(msg) is tuple
            self.update_known(msg)

    def find(self, node: str) -> _Him | None:
        for him in self.hims:
            if him.node == node:
                return him
        return None

    def remove(self, node: object, my_tag: object) -> None:
        self.hims = [h for h in self.hims if not (h.node == node and h.my_tag == my_tag)]

    async def lock_nodes_safely(self, lock: object, extra: list[str]) -> bool:
        first = [self.boss]
        if first != [self.node] and not self.table.can_set_lock(lock):
            return False
        if not await set_lock_on_nodes(self.table, lock, first):
            return False
        await self.drain_known()
        second = [n for n in [self.node, *extra] if n not in first]
        if not await set_lock_on_nodes(self.table, lock, second):
            await del_lock(lock, first)
            return False
        if not await set_lock_on_nodes(self.table, lock, [n for n in self.known if n not in first]):
            await del_lock(lock, first + second)
            return False
        return True

    def send_lock_set(self, is_set: bool, his_locker: Pid, vsn: int, his_tag: object) -> None:
        msg: tuple[object, ...] = (LOCK_SET, self.me, is_set, [Atom(n) for n in self.known])
        if vsn >= 8:
            msg = (*msg, his_tag)
        cast((SERVER, his_locker.node), msg)

    async def lock_asked(self, pid: Pid, my_tag: object) -> None:
        """The peer's locker holds its partition and asks us to lock ours."""
        him = self.find(pid.node)
        if him is None or (my_tag is not None and him.my_tag != my_tag):
            self.send_lock_set(False, pid, 5, 0)
            return
        lock = lock_id(self.me, pid)
        is_set = await self.lock_nodes_safely(lock, [])
        self.send_lock_set(is_set, pid, him.vsn, him.his_tag)
        if is_set:
            known = [self.node, *self.known]
            cast(SERVER, (Atom("lock_is_set"), pid.node, him.my_tag, lock))
            await self.wait_cancel(pid.node, him.my_tag, lock, known)
            self.just_synced = True
            self.remove(pid.node, him.my_tag)

    async def select_node(self) -> None:
        """Lock with one waiting peer whose node is not in our partition yet."""
        self.hims = [h for h in self.hims if h.node not in self.known]
        if not self.hims:
            return
        him = random.choice(self.hims)
        lock = lock_id(self.me, him.locker)
        if not await self.lock_nodes_safely(lock, [him.node]):
            return
        known = [self.node, him.node, *self.known]
        self.send_lock_set(True, him.locker, him.vsn, him.his_tag)
        await self.lock_is_set(him, lock, known)

    async def lock_is_set(self, him: _Him, lock: object, known: list[str]) -> None:
        """Wait for the peer's answer to our lock, or for the server to cancel."""
        while True:
            msg = await receive(match=lambda m: _answer_of(m, him))
            assert type(msg) is tuple
            if msg[0] == "cancel":
                await delete_global_lock(lock, known)
                self.remove(him.node, him.my_tag)
                return
            tag = msg[4] if len(msg) == 5 else him.my_tag
            if tag != him.my_tag:
                continue  # an answer of an earlier attempt
            if msg[2] is not True:
                await delete_global_lock(lock, known)
                return
            cast(SERVER, (Atom("lock_is_set"), him.node, him.my_tag, lock))
            await self.wait_cancel(him.node, him.my_tag, lock, known)
            self.just_synced = True
            self.hims.remove(him)
            return

    async def wait_cancel(self, node: str, my_tag: object, lock: object, known: list[str]) -> None:
        """Hold the lock while the servers exchange names; release it when cancelled."""
        await receive(
            match=lambda m: (
                type(m) is tuple
                and len(m) == 3
                and m[0] == "cancel"
                and m[1] == node
                and m[2] == my_tag
            )
        )
        await delete_global_lock(lock, known)


def _answer_of(msg: object, him: _Him) -> bool:
    if type(msg) is not tuple or not msg:
        return False
    if msg[0] == "cancel":
        return len(msg) == 3 and msg[1] == him.node and msg[2] == him.my_tag
    return (
        msg[0] == LOCK_SET
        and len(msg) in (4, 5)
        and isinstance(msg[1], Pid)
        and msg[1].node == him.node
    )


async def locker() -> None:
    """The locker process (spawned linked by the name server)."""
    await Locker().run()


__all__ = ["SERVER", "Locker", "del_lock", "lock_id", "locker", "multi_call", "set_lock_on_nodes"]
