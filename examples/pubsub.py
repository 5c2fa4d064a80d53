"""A local publish/subscribe service on a duplicate-key Registry.

    python examples/pubsub.py

Subscribing registers the calling process under the topic (a key of a
registry with duplicate keys, so many processes share it); publishing
looks the topic up and sends the message to every subscriber. Nothing
serialises the traffic: `subscribe` and `publish` read and write the
registry's tables directly, in the caller. A subscriber that exits is
unsubscribed at once, since registry entries vanish with their process.
"""

from __future__ import annotations

import otp

REGISTRY = "pubsub"


def subscribe(topic: str, tag: str) -> None:
    """Subscribe the calling process to `topic`; `tag` is its value in the registry."""
    otp.Registry.register(REGISTRY, topic, tag)


def publish(topic: str, message: object) -> int:
    """Send `("event", topic, message)` to every subscriber of `topic`; return how many."""
    sent = 0

    def deliver(entries: list[tuple[otp.Pid, object]]) -> None:
        nonlocal sent
        for pid, _tag in entries:
            otp.send(pid, ("event", topic, message))
            sent += 1

    otp.Registry.dispatch(REGISTRY, topic, deliver)
    return sent


async def listener(name: str, topics: list[str], report_to: otp.Pid, events: int) -> None:
    """Subscribe to `topics`, collect `events` events, report them, and exit."""
    for topic in topics:
        subscribe(topic, name)
    otp.send(report_to, ("ready", name))
    seen = []
    for _ in range(events):
        msg = await otp.receive()
        assert isinstance(msg, tuple)
        _, topic, payload = msg
        seen.append(f"{topic}:{payload}")
    otp.send(report_to, ("done", name, seen))


async def main() -> dict[str, object]:
    await otp.Registry.start_link(keys="duplicate", name=REGISTRY, partitions=2)
    me = otp.self()
    plan = {"ann": (["news"], 2), "bob": (["news", "sport"], 3), "cat": (["sport"], 1)}
    refs = {}
    for name, (topics, events) in plan.items():
        _, ref = otp.spawn_monitor(listener, name, topics, me, events)
        refs[ref] = name
    for _ in plan:
        await otp.receive(match=lambda m: isinstance(m, tuple) and m[0] == "ready")

    sent = [publish("news", "rain"), publish("sport", "goal"), publish("news", "sun")]
    print("deliveries per publish:", sent)

    results: dict[str, object] = {"sent": sent}
    for _ in plan:
        msg = await otp.receive(match=lambda m: isinstance(m, tuple) and m[0] == "done")
        assert isinstance(msg, tuple)
        _, name, seen = msg
        print(f"{name} saw {seen}")
        results[name] = seen
    # Each listener exits after reporting: wait for all of them, and see that
    # their subscriptions went with them.
    for _ in plan:
        await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref in refs)
    left = otp.Registry.count(REGISTRY)
    print("subscriptions left:", left)
    results["left"] = left
    return results


if __name__ == "__main__":
    otp.run(main)
