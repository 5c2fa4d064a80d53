"""PartitionSupervisor: partitions, routing by key, and supervision."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

import otp
from otp._behaviours._partition_supervisor import partition_of
from otp.testing import VirtualClock


class Shard(otp.GenServer):
    def init(self, partition: object) -> object:
        return partition

    def handle_call(self, request: object, from_: otp.From, state: object) -> Any:
        if request == "crash":
            raise RuntimeError("shard down")
        return otp.Reply(state, state)

    def handle_cast(self, request: object, state: object) -> Any:
        assert isinstance(request, tuple)
        otp.send(request[1], ("cast", state))
        return otp.NoReply(state)

    def handle_info(self, msg: object, state: object) -> Any:
        assert isinstance(msg, tuple)
        otp.send(msg[1], ("info", state))
        return otp.NoReply(state)


def per_partition(partition: int) -> otp.ChildSpec:
    return Shard.child_spec(partition)


class TestStartLink:
    def test_children_have_ids_zero_to_partitions_minus_one(self, clock: VirtualClock) -> None:
        async def main() -> tuple[list[object], bool, dict[str, int]]:
            await otp.PartitionSupervisor.start_link(per_partition, name="shards", partitions=3)
            children = await otp.PartitionSupervisor.which_children("shards")
            counts = await otp.PartitionSupervisor.count_children("shards")
            return [c.id for c in children], all(c.pid for c in children), counts

        ids, running, counts = clock.run(main)
        assert ids == [0, 1, 2] and running
        assert counts == {"specs": 3, "active": 3, "supervisors": 0, "workers": 3}

    def test_one_spec_is_given_to_every_partition(self, clock: VirtualClock) -> None:
        async def main() -> object:
            await otp.PartitionSupervisor.start_link(
                Shard.child_spec("same"), name="shards", partitions=2
            )
            return [await otp.call(otp.PartitionSupervisor.via("shards", k), "who") for k in (0, 1)]

        assert clock.run(main) == ["same", "same"]

    def test_a_class_is_started_with_none_in_every_partition(self, clock: VirtualClock) -> None:
        async def main() -> object:
            await otp.PartitionSupervisor.start_link(Shard, name="shards", partitions=2)
            return [await otp.call(otp.PartitionSupervisor.via("shards", k), "who") for k in (0, 1)]

        assert clock.run(main) == [None, None]

    def test_a_class_and_arg_is_started_with_that_arg_in_every_partition(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> object:
            await otp.PartitionSupervisor.start_link((Shard, "same"), name="shards", partitions=2)
            children = await otp.PartitionSupervisor.which_children("shards")
            via = otp.PartitionSupervisor.via
            return [c.id for c in children], [
                await otp.call(via("shards", k), "who") for k in (0, 1)
            ]

        assert clock.run(main) == ([0, 1], ["same", "same"])

    def test_a_function_may_return_a_class_and_arg(self, clock: VirtualClock) -> None:
        async def main() -> object:
            await otp.PartitionSupervisor.start_link(
                lambda p: (Shard, p * 10), name="shards", partitions=2
            )
            return [await otp.call(otp.PartitionSupervisor.via("shards", k), "who") for k in (0, 1)]

        assert clock.run(main) == [0, 10]

    @pytest.mark.parametrize("child", [42, lambda p: 42, (42, "arg")])
    def test_anything_else_is_a_type_error_listing_what_is_accepted(
        self, child: object, clock: VirtualClock
    ) -> None:
        async def main() -> str:
            with pytest.raises(TypeError, match=r"an otp.ChildSpec, a GenServer class or a"):
                await otp.PartitionSupervisor.start_link(child, name="s", partitions=2)  # type: ignore[arg-type]
            return "ok"

        assert clock.run(main) == "ok"

    def test_a_name_is_required(self, clock: VirtualClock) -> None:
        async def main() -> str:
            with pytest.raises(TypeError, match="needs a name"):
                await otp.PartitionSupervisor.start_link(per_partition, name=None)  # type: ignore[arg-type]
            return "ok"

        assert clock.run(main) == "ok"

    def test_partitions_must_be_positive(self, clock: VirtualClock) -> None:
        async def main() -> str:
            with pytest.raises(ValueError, match="positive"):
                await otp.PartitionSupervisor.start_link(per_partition, name="s", partitions=0)
            return "ok"

        assert clock.run(main) == "ok"


class TestPartitions:
    def test_returns_the_number_of_partitions(self, clock: VirtualClock) -> None:
        async def main() -> tuple[int, int]:
            sup = await otp.PartitionSupervisor.start_link(Shard, name="shards", partitions=5)
            by_name = otp.PartitionSupervisor.partitions("shards")
            return by_name, otp.PartitionSupervisor.partitions(sup)

        assert clock.run(main) == (5, 5)

    def test_defaults_to_the_number_of_cpus(self, clock: VirtualClock) -> None:
        async def main() -> int:
            await otp.PartitionSupervisor.start_link(Shard, name="shards")
            return otp.PartitionSupervisor.partitions("shards")

        assert clock.run(main) == (os.cpu_count() or 1)

    def test_a_name_that_is_no_partition_supervisor_is_noproc(self, clock: VirtualClock) -> None:
        async def main() -> str:
            await otp.Supervisor.start_link([], name="plain")
            for name in ("plain", "nobody"):
                with pytest.raises(otp.NoProc, match="no PartitionSupervisor is running as"):
                    otp.PartitionSupervisor.partitions(name)
            return "ok"

        assert clock.run(main) == "ok"


class TestVia:
    def test_integer_keys_route_by_modulo(self, clock: VirtualClock) -> None:
        async def main() -> object:
            await otp.PartitionSupervisor.start_link(per_partition, name="shards", partitions=4)
            via = otp.PartitionSupervisor.via
            return [await otp.call(via("shards", key), "which") for key in (0, 5, -6, 7, 8)]

        assert clock.run(main) == [0, 1, 2, 3, 0]

    def test_other_keys_route_the_same_way_every_time(self, clock: VirtualClock) -> None:
        async def main() -> tuple[list[object], list[object]]:
            await otp.PartitionSupervisor.start_link(per_partition, name="shards", partitions=8)
            via = otp.PartitionSupervisor.via
            first = [await otp.call(via("shards", f"user-{i}"), "which") for i in range(20)]
            again = [await otp.call(via("shards", f"user-{i}"), "which") for i in range(20)]
            return first, again

        first, again = clock.run(main)
        assert first == again
        assert len(set(first)) > 1  # the keys spread over partitions

    def test_via_works_for_cast_send_and_whereis(self, clock: VirtualClock) -> None:
        async def main() -> object:
            sup = await otp.PartitionSupervisor.start_link(per_partition, name="s", partitions=2)
            [_, one] = await otp.PartitionSupervisor.which_children(sup)
            via = otp.PartitionSupervisor.via("s", 3)
            otp.cast(via, ("ping", otp.self()))
            otp.send(via, ("ping", otp.self()))
            return otp.whereis(via) is one.pid, await otp.receive(), await otp.receive()

        assert clock.run(main) == (True, ("cast", 1), ("info", 1))

    def test_registering_through_a_partition_supervisor_is_refused(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> str:
            await otp.PartitionSupervisor.start_link(per_partition, name="s", partitions=2)
            with pytest.raises(TypeError, match="Registry"):
                await Shard.start_link(0, name=otp.PartitionSupervisor.via("s", 1))
            return "ok"

        assert clock.run(main) == "ok"

    def test_a_crashed_partition_is_restarted_and_routed_to_again(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> object:
            await otp.PartitionSupervisor.start_link(per_partition, name="s", partitions=2)
            via = otp.PartitionSupervisor.via("s", 1)
            old = otp.whereis(via)
            with pytest.raises(otp.Exit):
                await otp.call(via, "crash")
            await otp.PartitionSupervisor.which_children("s")  # the restart is handled
            new = otp.whereis(via)
            return new is not old and new is not None, await otp.call(via, "which")

        assert clock.run(main) == (True, 1)

    def test_keys_keep_their_partition_after_a_temporary_partition_exited(
        self, clock: VirtualClock
    ) -> None:
        async def main() -> tuple[object, object, object]:
            spec = Shard.child_spec(None, restart="temporary")
            await otp.PartitionSupervisor.start_link(
                lambda p: spec.replace(start=lambda: Shard.start_link(p)), name="s", partitions=3
            )
            via = otp.PartitionSupervisor.via
            with pytest.raises(otp.Exit):
                await otp.call(via("s", 0), "crash")
            await otp.PartitionSupervisor.which_children("s")  # the exit is handled
            return (
                otp.whereis(via("s", 0)),
                await otp.call(via("s", 1), "which"),
                await otp.call(via("s", 2), "which"),
            )

        assert clock.run(main) == (None, 1, 2)


def test_string_routing_is_stable_across_interpreter_runs() -> None:
    code = (
        "from otp._behaviours._partition_supervisor import partition_of;"
        "print([partition_of(f'k{i}', 16) for i in range(10)])"
    )
    runs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }
    assert len(runs) == 1
    assert runs.pop().strip() == str([partition_of(f"k{i}", 16) for i in range(10)])
