"""Deferred initialisation: start at once, load the state afterwards.

    python examples/deferred_init.py

`start_link` waits for `init` to return, and so does every process started
after this one under the same supervisor. A server with slow setup (a
database, a file, a remote service) must therefore not do it in `init`.
Here `init` returns `otp.Ok(state, continue_="load")`: `start_link`
returns at once, then `handle_continue("load", state)` runs before any
other message. Calls made meanwhile wait in the mailbox and are answered,
in order, once the loading is done (Elixir's `{:ok, state, {:continue,
:load}}`).
"""

from __future__ import annotations

import asyncio

import otp

PRICES = {"apple": 3, "pear": 4, "plum": 2}


#: The state: the prices by item (before loading, only "load_seconds").
Prices = dict[str, float]


class Catalog(otp.GenServer[Prices]):
    # -- client API ---------------------------------------------------------------

    @classmethod
    async def price(cls, item: str, server: str = "catalog") -> float | None:
        """The price of `item` (None when unknown); waits while the catalog loads."""
        price: float | None = await otp.call(server, ("price", item))
        return price

    # -- server callbacks -----------------------------------------------------------

    def init(self, load_seconds: float) -> otp.Ok[Prices]:
        return otp.Ok({"load_seconds": load_seconds}, continue_="load")

    async def handle_continue(self, arg: str, state: Prices) -> otp.NoReply[Prices]:
        await asyncio.sleep(state["load_seconds"])  # stands for a slow query
        print("catalog: loaded", len(PRICES), "prices")
        prices: Prices = dict(PRICES)
        return otp.NoReply(prices)

    def handle_call(self, request: object, from_: otp.From, state: Prices) -> otp.Reply[Prices]:
        match request:
            case ("price", str(item)):
                return otp.Reply(state.get(item), state)
        raise ValueError(f"Catalog got an unknown call: {request!r}")


async def main(load_seconds: float = 1.0) -> list[tuple[str, float]]:
    """Start the catalog and ask it a price; return when each step happened."""
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    timeline: list[tuple[str, float]] = []

    def mark(event: str) -> None:
        elapsed = round(loop.time() - t0, 3)
        timeline.append((event, elapsed))
        print(f"t={elapsed:.1f}s {event}")

    await Catalog.start_link(load_seconds, name="catalog")
    mark("start_link returned")
    price = await Catalog.price("apple")  # queued until the loading is done
    mark(f"apple costs {price}")
    return timeline


if __name__ == "__main__":
    otp.run(main)
