"""Registered names: `register`, `unregister`, `whereis`, `registered`."""

from __future__ import annotations

import asyncio

import pytest

import otp


async def forever() -> None:
    await otp.receive(match=lambda m: False)


async def returns() -> None:
    pass


class TestRegister:
    def test_a_registered_process_is_found_by_name(self) -> None:
        async def main() -> bool:
            pid = otp.spawn(forever)
            otp.register("worker", pid)
            return otp.whereis("worker") is pid

        assert otp.run(main) is True

    def test_a_taken_name_raises_already_registered_with_the_holder(self) -> None:
        async def main() -> bool:
            otp.register("taken", otp.self())
            other = otp.spawn(forever)
            with pytest.raises(otp.AlreadyRegistered, match="'taken'") as info:
                otp.register("taken", other)
            return info.value.pid is otp.self()

        assert otp.run(main) is True

    def test_a_process_has_at_most_one_name(self) -> None:
        async def main() -> list[str]:
            otp.register("first", otp.self())
            with pytest.raises(otp.AlreadyRegistered, match="'first'"):
                otp.register("second", otp.self())
            return otp.registered()

        assert otp.run(main) == ["first"]

    def test_a_dead_process_cannot_be_registered(self) -> None:
        async def main() -> None:
            pid, _ref = otp.spawn_monitor(returns)
            await otp.receive(match=lambda m: isinstance(m, otp.Down))
            with pytest.raises(otp.NoProc):
                otp.register("ghost", pid)

        otp.run(main)

    def test_a_name_must_be_a_non_empty_string(self) -> None:
        async def main() -> None:
            for bad in ["", 42, None]:
                with pytest.raises(TypeError, match="non-empty str"):
                    otp.register(bad, otp.self())  # type: ignore[arg-type]

        otp.run(main)

    def test_undefined_is_reserved(self) -> None:
        async def main() -> None:
            with pytest.raises(ValueError, match="reserved"):
                otp.register("undefined", otp.self())

        otp.run(main)

    def test_the_name_is_freed_when_the_process_dies(self) -> None:
        async def main() -> tuple[object, list[str], bool]:
            pid, _ref = otp.spawn_monitor(forever)
            otp.register("short-lived", pid)
            otp.exit(pid, "kill")
            await otp.receive(match=lambda m: isinstance(m, otp.Down))
            gone = otp.whereis("short-lived")
            names = otp.registered()
            otp.register("short-lived", otp.self())  # free again
            return gone, names, otp.whereis("short-lived") is otp.self()

        assert otp.run(main) == (None, [], True)

    def test_the_name_shows_in_process_info_and_repr(self) -> None:
        async def main() -> tuple[object, str]:
            otp.register("named", otp.self())
            info = otp.process_info(otp.self())
            assert info is not None
            return info["registered_name"], repr(otp.self())

        name, text = otp.run(main)
        assert name == "named" and "'named'" in text

    def test_a_plain_task_can_register_and_look_up(self) -> None:
        async def main() -> bool:
            async with otp.Node():
                pid = otp.spawn(forever)
                otp.register("svc", pid)
                return otp.whereis("svc") is pid

        assert asyncio.run(main()) is True


class TestUnregister:
    def test_removes_the_name_but_not_the_process(self) -> None:
        async def main() -> tuple[object, bool, object]:
            pid = otp.spawn(forever)
            otp.register("gone", pid)
            otp.unregister("gone")
            info = otp.process_info(pid)
            assert info is not None
            return otp.whereis("gone"), otp.is_alive(pid), info["registered_name"]

        assert otp.run(main) == (None, True, None)

    def test_an_unknown_name_raises_value_error(self) -> None:
        async def main() -> None:
            with pytest.raises(ValueError, match="'nobody'"):
                otp.unregister("nobody")

        otp.run(main)

    def test_the_process_can_take_a_new_name_afterwards(self) -> None:
        async def main() -> list[str]:
            otp.register("old", otp.self())
            otp.unregister("old")
            otp.register("new", otp.self())
            return otp.registered()

        assert otp.run(main) == ["new"]

    def test_sending_to_an_unregistered_name_raises_noproc(self) -> None:
        async def main() -> None:
            otp.register("temp", otp.self())
            otp.unregister("temp")
            with pytest.raises(otp.NoProc):
                otp.send("temp", "x")

        otp.run(main)


class TestWhereis:
    def test_an_unknown_name_gives_none(self) -> None:
        async def main() -> object:
            return otp.whereis("nobody")

        assert otp.run(main) is None

    def test_a_local_name_node_pair_is_looked_up_locally(self) -> None:
        async def main() -> bool:
            otp.register("me", otp.self())
            return otp.whereis(("me", otp.node())) is otp.self()

        assert otp.run(main) is True

    def test_something_that_is_not_a_name_raises_type_error(self) -> None:
        async def main() -> None:
            with pytest.raises(TypeError, match="a destination must be"):
                otp.whereis(3.5)

        otp.run(main)


class TestRegistered:
    def test_lists_every_name(self) -> None:
        async def main() -> list[str]:
            for name in ["a", "b", "c"]:
                otp.register(name, otp.spawn(forever))
            return sorted(otp.registered())

        assert otp.run(main) == ["a", "b", "c"]

    def test_each_node_has_its_own_names(self) -> None:
        async def main() -> list[str]:
            return otp.registered()

        async def first() -> None:
            otp.register("only-here", otp.self())

        otp.run(first)
        assert otp.run(main) == []
