"""Type-checked only (never run): remote spawn and erpc read well under `mypy --strict`.

Without `node=`, `otp.spawn` gives a Pid; with it, an awaitable of one.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import assert_type

import otp


async def work(n: int) -> None:
    await otp.receive()


def add(a: int, b: int) -> int:
    return a + b


async def main() -> None:
    assert_type(otp.spawn(work, 1), otp.Pid)
    assert_type(otp.spawn(work, 1, node="b@h"), Awaitable[otp.Pid])
    pid = await otp.spawn(add, 1, 2, node="b@h")  # a plain function runs there
    assert_type(pid, otp.Pid)
    assert_type(await otp.spawn_link(("erlang", "display"), "hi", node="erl@h"), otp.Pid)
    assert_type(otp.spawn_monitor(work, 1), tuple[otp.Pid, otp.Ref])
    assert_type(await otp.spawn_monitor(work, 1, node="b@h"), tuple[otp.Pid, otp.Ref])
    assert_type(await otp.erpc.call("erl@h", "lists", "reverse", [[1, 2]]), object)
    assert_type(await otp.erpc.call("b@h", add, [1, 2], timeout=None), object)
    otp.erpc.cast("b@h", add, [1, 2])
    try:
        await otp.erpc.call("erl@h", "erlang", "error", ["badarg"])
    except otp.RemoteError as exc:
        assert_type(exc.stack, list[object])
