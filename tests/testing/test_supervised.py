"""`otp.testing.start_supervised` and `stop_supervised`, outside pytest's plugin.

(Their stop at the end of a test is in test_plugin.py.)
"""

from __future__ import annotations

import logging

import pytest

import otp
from otp.testing import VirtualClock, start_supervised, stop_supervised


class Holder(otp.GenServer):
    def init(self, arg: object) -> object:
        if arg == "fail":
            raise ValueError("cannot start")
        if arg == "ignore":
            return otp.Ignore()
        return arg

    def handle_call(self, request: object, from_: otp.From, state: object) -> otp.Reply[object]:
        return otp.Reply(state, state)


def links(pid: otp.Pid) -> set[otp.Pid]:
    info = otp.process_info(pid)
    assert info is not None
    linked = info["links"]
    assert isinstance(linked, list)
    return set(linked)


class Other(Holder):
    pass


class TestStartSupervised:
    def test_takes_a_class_a_tuple_or_a_child_spec(self, clock: VirtualClock) -> None:
        async def main() -> list[object]:
            a = await start_supervised(Holder)
            b = await start_supervised(otp.ChildSpec("b", lambda: Holder.start_link("b")))
            c = await start_supervised((Other, "c"))
            return [await otp.call(pid, "get") for pid in (a, b, c)]

        assert clock.run(main) == [None, "b", "c"]

    def test_every_child_is_under_one_supervisor_linked_to_the_caller(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> bool:
            a = await start_supervised(Holder)
            b = await start_supervised(otp.ChildSpec("b", lambda: Holder.start_link("b")))
            (sup,) = links(a) & links(b)
            info = otp.process_info(sup)
            assert info is not None
            return otp.self() in links(sup) and info["behaviour"] == "Supervisor"

        assert clock.run(main) is True

    def test_a_failed_start_raises_start_error(
        self, clock: VirtualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.CRITICAL, logger="otp")

        async def main() -> object:
            with pytest.raises(otp.StartError) as info:
                await start_supervised((Holder, "fail"))
            return info.value.reason

        reason = clock.run(main)
        assert isinstance(reason, ValueError)

    def test_a_duplicate_id_raises_start_error_already_started(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, otp.Pid]:
            pid = await start_supervised(Holder)
            with pytest.raises(otp.StartError) as info:
                await start_supervised(Holder)
            return info.value.reason, pid

        reason, pid = clock.run(main)
        assert reason == ("already_started", pid)

    def test_an_ignoring_child_raises_start_error_ignore(self, clock: VirtualClock) -> None:
        async def main() -> tuple[object, str]:
            with pytest.raises(otp.StartError) as info:
                await start_supervised((Holder, "ignore"))
            return info.value.reason, str(info.value)

        reason, text = clock.run(main)
        assert reason == "ignore"
        assert "returned otp.Ignore()" in text

    def test_a_bad_child_raises_type_error_saying_what_to_pass(self, clock: VirtualClock) -> None:
        async def main() -> str:
            with pytest.raises(TypeError) as info:
                await start_supervised(42)
            return str(info.value)

        assert "a (cls, arg) tuple or an otp.ChildSpec; got 42 (int)" in clock.run(main)

    def test_outside_a_process_raises_not_in_process(self) -> None:
        coro = start_supervised(Holder)
        with pytest.raises(otp.NotInProcess):
            coro.send(None)
        coro.close()


class TestStopSupervised:
    def test_stops_the_child_and_frees_its_id(self, clock: VirtualClock) -> None:
        async def main() -> tuple[bool, object]:
            first = await start_supervised(Holder.child_spec("one"))
            await stop_supervised(Holder)
            again = await start_supervised(Holder.child_spec("two"))
            return otp.is_alive(first), await otp.call(again, "get")

        assert clock.run(main) == (False, "two")

    def test_a_temporary_child_is_stopped_too(self, clock: VirtualClock) -> None:
        async def main() -> bool:
            spec = otp.ChildSpec("t", lambda: Holder.start_link("t"), restart="temporary")
            pid = await start_supervised(spec)
            await stop_supervised("t")
            return otp.is_alive(pid)

        assert clock.run(main) is False

    def test_an_unknown_id_raises_key_error_listing_the_ids(self, clock: VirtualClock) -> None:
        async def main() -> list[str]:
            messages = []
            with pytest.raises(KeyError) as info:
                await stop_supervised("nothing started yet")
            messages.append(str(info.value))
            await start_supervised(otp.ChildSpec("b", lambda: Holder.start_link("b")))
            with pytest.raises(KeyError) as info:
                await stop_supervised("c")
            messages.append(str(info.value))
            return messages

        first, second = clock.run(main)
        assert "no child with that id was started by start_supervised" in first
        assert "the running ones are ['b']" in second
