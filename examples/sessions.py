"""Per-session servers, started on demand and reached by session id.

    python examples/sessions.py

The seed's `SessionServer`: one GenServer per user session, started under a
DynamicSupervisor the first time the session is used and named through a
unique-key Registry (`otp.Via("sessions", session_id)`), so any process can
reach a session by its id without knowing its pid. A session that crashes is
restarted by the supervisor under the same name (with a fresh state); a
session that is idle for `IDLE` seconds stops itself (`timeout=`), and its
name is free again.
"""

from __future__ import annotations

import asyncio
from typing import TypedDict

import otp

IDLE = 30.0  # seconds without a request before a session ends


class Session(TypedDict):
    id: str
    cart: list[str]


class SessionServer(otp.GenServer[Session]):
    """The state of one user's session: a shopping cart."""

    # -- client API ---------------------------------------------------------

    @staticmethod
    def via(session_id: str) -> otp.Via:
        return otp.Via("sessions", session_id)

    @classmethod
    async def open(cls, session_id: str) -> otp.Pid:
        """The session's server, started under the supervisor if it is not running."""
        pid = otp.whereis(cls.via(session_id))
        if pid is not None:
            return pid
        spec = cls.child_spec(session_id, name=cls.via(session_id), restart="transient")
        try:
            started = await otp.DynamicSupervisor.start_child("session_sup", spec)
        except otp.AlreadyStarted as exc:
            return exc.pid  # another caller started it first
        assert started is not None
        return started

    @classmethod
    async def add(cls, session_id: str, item: str) -> object:
        await cls.open(session_id)
        return await otp.call(cls.via(session_id), ("add", item))

    @classmethod
    async def cart(cls, session_id: str) -> object:
        await cls.open(session_id)
        return await otp.call(cls.via(session_id), "cart")

    # -- callbacks ------------------------------------------------------------

    def init(self, session_id: str) -> otp.Ok[Session]:
        return otp.Ok({"id": session_id, "cart": []}, timeout=IDLE)

    def handle_call(self, request: object, from_: otp.From, state: Session) -> otp.Reply[Session]:
        match request:
            case ("add", str(item)):
                state = {**state, "cart": [*state["cart"], item]}
                return otp.Reply(len(state["cart"]), state, timeout=IDLE)
            case "cart":
                return otp.Reply(list(state["cart"]), state, timeout=IDLE)
            case "crash":
                raise RuntimeError(f"session {state['id']} hit a bug")
        return otp.Reply(("error", "unknown request"), state, timeout=IDLE)

    def handle_info(self, msg: object, state: Session) -> otp.NoReply[Session] | otp.Stop[Session]:
        if msg == "timeout":
            return otp.Stop("normal", state)  # idle: end the session
        return otp.NoReply(state)  # not ours: dropped


async def main() -> list[object]:
    await otp.Registry.start_link(keys="unique", name="sessions")
    await otp.DynamicSupervisor.start_link(name="session_sup")
    seen: list[object] = []

    await SessionServer.add("alice", "book")
    await SessionServer.add("bob", "pen")
    seen.append(await SessionServer.add("alice", "lamp"))
    seen.append(await SessionServer.cart("alice"))
    print("alice's cart:", seen[-1])

    # A crash restarts the session under the same name, with a fresh state.
    alice = otp.whereis(SessionServer.via("alice"))
    try:
        await otp.call(SessionServer.via("alice"), "crash")
    except otp.Exit as exc:
        print("alice's session crashed:", exc.reason)
    await otp.DynamicSupervisor.count_children("session_sup")  # the restart is done
    again = otp.whereis(SessionServer.via("alice"))
    seen.append(again is not None and again is not alice)
    seen.append(await SessionServer.cart("alice"))
    print("alice's cart after the restart:", seen[-1])

    # Idle sessions end by themselves and free their names.
    await asyncio.sleep(IDLE + 1)
    seen.append(otp.Registry.count("sessions"))
    print("sessions open after", IDLE + 1, "idle seconds:", seen[-1])
    return seen


if __name__ == "__main__":
    otp.run(main)
