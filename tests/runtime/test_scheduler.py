"""Where the runtime meets asyncio: the registry of running nodes."""

from __future__ import annotations

import asyncio
import concurrent.futures

import otp
from otp._runtime._scheduler import running_nodes, track


class TestRunningNodes:
    def test_lists_a_node_while_it_runs(self) -> None:
        async def main() -> tuple[list[otp.Node], otp.Node]:
            async with otp.Node() as node:
                return running_nodes(), node

        during, node = asyncio.run(main())
        assert during == [node]
        assert running_nodes() == []

    def test_requests_still_waiting_when_the_node_stops_are_cancelled(self) -> None:
        waiting: concurrent.futures.Future[object] = concurrent.futures.Future()

        async def main() -> bool:
            async with otp.Node() as node:
                assert track(node, waiting)
            return track(node, concurrent.futures.Future())

        assert asyncio.run(main()) is False  # a stopped node takes no more
        assert waiting.cancelled()
