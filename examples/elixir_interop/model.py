"""A Python node that serves a model to Elixir: a GenServer registered as `model`.

    python examples/elixir_interop/model.py     # then: elixir examples/elixir_interop/client.exs
    examples/elixir_interop/run.sh               # both, in one command

The node is `py@127.0.0.1` with the cookie `elixir-interop-example`,
visible (`hidden=False`), so it takes part in Erlang's `:global`: the server
is registered as the global name `model`, and Elixir reaches it as
`{:global, :model}` (or `{:model, :"py@127.0.0.1"}`), exactly as it reaches
one of its own: `GenServer.call`, `GenServer.cast` and `Process.monitor` work
as they do between Elixir nodes. Elixir may also run any Python function on
the node: `:erpc.call(:"py@127.0.0.1", :math, :hypot, [3.0, 4.0])`.

The model is a tiny linear one, `y = w . x + b`:

- `{:predict, [x1, x2]}` (a call) answers `{:ok, y}`, or `{:error, message}`
  when the input is not two numbers;
- `{:learn, [x1, x2], y}` (a cast) takes one gradient step towards `y`;
- `:stats` (a call) answers `%{predictions: n, updates: n}`;
- `:stop` (a call) answers `:ok`, then the server stops with reason `:normal`.

Elixir's atoms arrive as `otp.Atom` (a `str`, so `case ("predict", ...)`
matches `:predict`), lists as lists, floats as floats; a Python `str`
arrives in Elixir as a string, `otp.Atom("ok")` as `:ok`.
"""

from __future__ import annotations

from dataclasses import dataclass

import otp
from otp import Atom

NODE = "py@127.0.0.1"
COOKIE = "elixir-interop-example"
LEARNING_RATE = 0.1
OK, ERROR = Atom("ok"), Atom("error")


@dataclass
class State:
    weights: list[float]
    bias: float
    predictions: int = 0
    updates: int = 0

    def predict(self, xs: list[float]) -> float:
        return sum(w * x for w, x in zip(self.weights, xs, strict=True)) + self.bias


def numbers(value: object, count: int) -> list[float] | None:
    """`value` as `count` floats, or None when it is not a list of that many numbers."""
    if not isinstance(value, list) or len(value) != count:
        return None
    if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in value):
        return None
    return [float(x) for x in value]


class Model(otp.GenServer[State]):
    """A linear model that answers predictions and learns from casts."""

    def init(self, arg: None) -> State:
        otp.trap_exit(True)  # so that terminate runs when the node shuts down
        weights, bias = [0.5, -0.25], 1.0
        print(f"model: serving y = {weights} . x + {bias} on {otp.node()}", flush=True)
        return State(weights, bias)

    def handle_call(
        self, request: object, from_: otp.From, state: State
    ) -> otp.Reply[State] | otp.Stop[State]:
        match request:
            case ("predict", xs):
                inputs = numbers(xs, len(state.weights))
                if inputs is None:
                    wanted = f"a list of {len(state.weights)} numbers"
                    return otp.Reply((ERROR, f"expected {wanted}, got {xs!r}"), state)
                state.predictions += 1
                return otp.Reply((OK, round(state.predict(inputs), 6)), state)
            case "stats":
                stats = {Atom("predictions"): state.predictions, Atom("updates"): state.updates}
                return otp.Reply(stats, state)
            case "stop":
                return otp.Stop("normal", state, reply=OK)
        raise ValueError(f"Model got an unknown call: {request!r}")  # crashes, naming it

    def handle_cast(self, request: object, state: State) -> otp.NoReply[State]:
        match request:
            case ("learn", xs, int(target) | float(target)):
                inputs = numbers(xs, len(state.weights))
                if inputs is not None:
                    # one step of gradient descent on the squared error
                    error = state.predict(inputs) - target
                    state.weights = [
                        w - LEARNING_RATE * error * x
                        for w, x in zip(state.weights, inputs, strict=True)
                    ]
                    state.bias -= LEARNING_RATE * error
                    state.updates += 1
                    return otp.NoReply(state)
        print(f"model: ignoring the cast {request!r}", flush=True)
        return otp.NoReply(state)

    def terminate(self, reason: object, state: State) -> None:
        print(
            f"model: stopping ({reason}) after {state.predictions} predictions "
            f"and {state.updates} updates",
            flush=True,
        )


async def main() -> None:
    await Model.start_link(None, name=otp.Global("model"))
    print("model: ready", flush=True)
    # Serve until the node is stopped: SIGTERM (or Ctrl-C) shuts it down gracefully.
    await otp.receive()


if __name__ == "__main__":
    otp.run(main, node=NODE, cookie=COOKIE, hidden=False)
