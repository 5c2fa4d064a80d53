"""PartitionSupervisor with `nodes=`, and supervised children on other nodes.

The other nodes run in subprocesses and import `spawn_targets` from this
folder, as in `test_spawn`.
"""

from __future__ import annotations

from typing import Any

import pytest
import spawn_targets
from erlang_nodes import COOKIE, GUARD, unique
from test_remote_task import next_message, with_nodes

import otp


async def where(key: int) -> object:
    return await otp.call(otp.PartitionSupervisor.via("shards", key), "where")


async def start_shards(nodes: list[str], partitions: int = 4) -> otp.Pid:
    return await otp.PartitionSupervisor.start_link(
        lambda p: (spawn_targets.Shard, p),
        name="shards",
        partitions=partitions,
        nodes=nodes,
        max_restarts=10,
    )


class TestPartitionsOnNodes:
    def test_partition_i_runs_on_node_i_modulo_the_nodes(self) -> None:
        async def main(_: object, __: object, a: str, b: str) -> object:
            await start_shards([a, b])
            return [await where(key) for key in range(4)], a, b

        placed, a, b = with_nodes(main, count=2)
        assert placed == [(0, a), (1, b), (2, a), (3, b)]

    def test_partitions_default_to_one_per_node(self) -> None:
        async def main(_: object, other: str) -> object:
            await otp.PartitionSupervisor.start_link(
                spawn_targets.Shard, name="shards", nodes=[other, otp.node()]
            )
            return otp.PartitionSupervisor.partitions("shards")

        assert with_nodes(main) == 2

    def test_the_partitions_of_a_lost_node_restart_on_the_next_node(self) -> None:
        async def main(proc: Any, _: object, a: str, b: str) -> object:
            await start_shards([a, b])
            children = await otp.PartitionSupervisor.which_children("shards")
            ref = otp.monitor(children[0].pid)
            proc.kill()  # node a
            down = await next_message(otp.Down)
            # The supervisor handles the exits (and restarts) before this call.
            after = await otp.PartitionSupervisor.which_children("shards")
            return down.ref == ref, down.reason, [c.pid.node for c in after if c.pid], b

        same, reason, placed, b = with_nodes(main, count=2)
        assert same and reason == "noconnection"
        assert placed == [b, b, b, b]

    def test_a_child_spec_cannot_be_placed_on_nodes(self) -> None:
        async def main() -> object:
            spec = spawn_targets.Shard.child_spec(0)
            with pytest.raises(TypeError, match="GenServer class or a"):
                await otp.PartitionSupervisor.start_link(spec, name="s", nodes=["a@h"])
            with pytest.raises(TypeError, match="list of node names"):
                await otp.PartitionSupervisor.start_link(spec, name="s", nodes="a@h")
            return True

        assert otp.run(main) is True


class TestChildrenOnOtherNodes:
    def test_a_child_spec_with_a_node_list_starts_on_the_first_reachable(self) -> None:
        async def main(_: object, other: str) -> object:
            nobody = unique("nobody") + "@127.0.0.1"
            spec = spawn_targets.Shard.child_spec("s", node=[nobody, other])
            await otp.Supervisor.start_link([spec], name="sup")
            [child] = await otp.Supervisor.which_children("sup")
            return child.pid is not None and child.pid.node == other

        assert with_nodes(main) is True

    def test_none_reachable_fails_the_start_with_noconnection(self) -> None:
        async def main() -> object:
            nobody = unique("nobody") + "@127.0.0.1"
            spec = spawn_targets.Shard.child_spec("s", node=[nobody])
            with pytest.raises(otp.StartError) as failed:
                await otp.Supervisor.start_link([spec])
            return "noconnection" in repr(failed.value.reason)

        assert otp.run(main, node=unique("py") + "@127.0.0.1", cookie=COOKIE) is True

    def test_stopping_the_supervisor_shuts_down_its_children_there(self) -> None:
        async def main(_: object, other: str) -> object:
            sup = await start_shards([other], partitions=2)
            children = await otp.PartitionSupervisor.which_children("shards")
            refs = {otp.monitor(c.pid): c.pid for c in children if c.pid}
            otp.unlink(sup)
            await otp.stop(sup, timeout=GUARD)
            downs = [await next_message(otp.Down) for _ in refs]
            return sorted(d.reason for d in downs if d.ref in refs)

        assert with_nodes(main) == ["shutdown", "shutdown"]

    def test_a_node_shutting_down_stops_a_supervisor_with_children_there(self) -> None:
        async def main() -> object:
            peer = await otp.peer.start_link()
            await start_shards([peer.node], partitions=2)
            children = await otp.PartitionSupervisor.which_children("shards")
            # Returning shuts the node down: the supervisor first (the newest
            # root), whose children on the peer, still there, stop at once.
            return [c.pid for c in children]

        # A shutdown that lost the children's Down hung here (the suite's timeout).
        pids = otp.run(main, node=unique("py") + "@127.0.0.1", cookie=COOKIE)
        assert isinstance(pids, list) and len(pids) == 2

    def test_a_remote_child_that_ignores_shutdown_is_killed_after_its_timeout(self) -> None:
        async def main(_: object, other: str) -> object:
            spec = spawn_targets.Stubborn.child_spec(None, node=other, shutdown=0.05)
            sup = await otp.Supervisor.start_link([spec])
            [child] = await otp.Supervisor.which_children(sup)
            assert child.pid is not None
            ref = otp.monitor(child.pid)
            otp.unlink(sup)
            await otp.stop(sup, timeout=GUARD)
            down = await next_message(otp.Down)
            return down.ref == ref, down.reason

        assert with_nodes(main) == (True, "killed")
