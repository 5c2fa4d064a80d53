"""The example application: a small job service under a supervision tree.

    python examples/app.py [--seconds N] [--seed S] [--observer PORT] [--name NODE]
    scripts/example.sh      (the same, with the dashboard on port 8000, until Ctrl-C)

The tree, started top to bottom and stopped bottom to top::

    App            Supervisor "app", one_for_one
    ├── Audit      GenServer "audit": writes every event to a slow audit log,
    │              and falls behind (on purpose: see it in the dashboard)
    ├── Stats      GenServer "stats": counts what happens; owns Table "seen"
    ├── sessions   Registry "sessions": each running Worker under its job number
    ├── jobs       DynamicSupervisor "jobs": one Worker process per job
    ├── Dispatcher every 0.2 s, starts a Worker for a new job under "jobs"
    ├── Feed       polls a flaky upstream every 0.4 s; now and then the
    │              upstream fails, the Feed crashes and App restarts it
    └── Reporter   every second, prints what Stats counted

Each service starts after the ones it needs: the Dispatcher uses "jobs"
and "stats", the Reporter reads "stats". A crash is logged on logger "otp"
with its traceback, followed by the supervisor's restart report.

The Audit server is the singleton bottleneck of the GenServer guide's
anti-patterns: every event goes through it, and it handles four a
second while about twelve arrive. Its queue grows without bound: open the
dashboard (`--observer 8000`, then http://127.0.0.1:8000/) and it tops
the process list, sorted by queue length; after a few minutes the node's
mailbox warning names it too. The fix would be to batch the writes, or to
partition the log (PartitionSupervisor).

The application runs for `--seconds` (default 3; 0: until stopped), then `main` stops the
tree: children stop in reverse start order, and the services that trap
exits run their `terminate`, which prints what it does. (Returning from
`main` would do the same, as `otp.run` shuts down what is left; stopping
the tree first lets `main` print a summary of the final counts.)
Ctrl-C (SIGINT) or SIGTERM starts the same graceful shutdown early; a
second one kills every process at once. The exit status is 0 when the
time is up, 130 (128 + SIGINT, the shell's convention for an interrupted
program) after Ctrl-C, and 143 after SIGTERM.

Randomness (job lengths, upstream failures) comes from `--seed`, so the
same seed makes the same choices; on `otp.testing.VirtualClock` a whole
run is repeatable.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
from dataclasses import dataclass, field

import otp

# -- Audit: the bottleneck ------------------------------------------------------------


class Audit(otp.GenServer[int]):
    """Writes each event to an audit log that takes 0.25 s a write: it falls behind."""

    WRITE_SECONDS = 0.25

    def init(self, arg: None) -> int:
        return 0  # the state: events written

    async def handle_cast(self, request: object, written: int) -> otp.NoReply[int]:
        await asyncio.sleep(self.WRITE_SECONDS)  # stands for a slow, synchronous write
        return otp.NoReply(written + 1)


# -- Stats: the shared counters ----------------------------------------------------


@dataclass
class Counts:
    report_to: otp.Pid  # gets ("final counts", counts) when Stats stops
    counts: dict[str, int] = field(default_factory=dict)


class Stats(otp.GenServer[Counts]):
    """Counters by name: everyone casts to it, the Reporter reads it."""

    @classmethod
    def bump(cls, key: str, by: int = 1) -> None:
        otp.cast("stats", ("bump", key, by))
        otp.cast("audit", ("event", key))

    @classmethod
    async def snapshot(cls) -> dict[str, int]:
        counts: dict[str, int] = await otp.call("stats", "snapshot")
        return counts

    def init(self, report_to: otp.Pid) -> Counts:
        otp.trap_exit(True)  # so that a shutdown from App runs terminate
        # Every job the Dispatcher starts, by number: read by anyone, at any time.
        otp.Table(name="seen", access="public")
        return Counts(report_to)

    def handle_cast(self, request: object, state: Counts) -> otp.NoReply[Counts]:
        match request:
            case ("bump", str(key), int(by)):
                state.counts[key] = state.counts.get(key, 0) + by
                return otp.NoReply(state)
        raise ValueError(f"Stats got an unknown cast: {request!r}")  # crashes, naming it

    def handle_call(self, request: object, from_: otp.From, state: Counts) -> otp.Reply[Counts]:
        match request:
            case "snapshot":
                return otp.Reply(dict(state.counts), state)
        raise ValueError(f"Stats got an unknown call: {request!r}")

    def terminate(self, reason: object, state: Counts) -> None:
        print(f"  stats: handing over the final counts ({sum(state.counts.values())} events)")
        otp.send(state.report_to, ("final counts", state.counts))


# -- jobs: one short-lived Worker process per job -----------------------------------


@dataclass(frozen=True)
class Job:
    number: int
    seconds: float  # how long the work takes


class Worker(otp.GenServer[Job]):
    """Runs one job, then stops. A temporary child of "jobs": never restarted."""

    def init(self, job: Job) -> otp.Ok[Job]:
        otp.Registry.register("sessions", job.number, job.seconds)  # gone when it stops
        # Return at once, so that the Dispatcher is not held up; work afterwards.
        return otp.Ok(job, continue_="work")

    async def handle_continue(self, arg: object, job: Job) -> otp.Stop[Job]:
        await asyncio.sleep(job.seconds)  # stands for real work
        Stats.bump("jobs done")
        return otp.Stop("normal", job)


@dataclass
class Dispatching:
    rng: random.Random
    dispatched: int = 0


class Dispatcher(otp.GenServer[Dispatching]):
    """Every 0.2 s, starts a Worker for a new job under the "jobs" supervisor."""

    INTERVAL = 0.2

    def init(self, rng: random.Random) -> Dispatching:
        otp.trap_exit(True)
        otp.send_after(otp.self(), "dispatch", self.INTERVAL)
        return Dispatching(rng)

    async def handle_info(self, msg: object, state: Dispatching) -> otp.NoReply[Dispatching]:
        if msg != "dispatch":
            return otp.NoReply(state)  # not ours: dropped
        state.dispatched += 1
        job = Job(state.dispatched, seconds=round(state.rng.uniform(0.1, 0.9), 2))
        otp.Table.named("seen").insert((job.number, job.seconds))
        await otp.DynamicSupervisor.start_child("jobs", Worker.child_spec(job, restart="temporary"))
        Stats.bump("jobs dispatched")
        otp.send_after(otp.self(), "dispatch", self.INTERVAL)
        return otp.NoReply(state)

    def terminate(self, reason: object, state: Dispatching) -> None:
        print(f"  dispatcher: no new jobs after job {state.dispatched}")


# -- Feed: the flaky worker ---------------------------------------------------------


class UpstreamError(Exception):
    """The upstream service failed (here: at random)."""


@dataclass
class Polling:
    rng: random.Random
    polls: int = 0


class Feed(otp.GenServer[Polling]):
    """Polls an upstream that fails now and then, and lets it crash.

    No try/except around the poll: the crash is logged, App restarts the
    Feed with a fresh state, and the other services never notice.
    """

    INTERVAL = 0.4
    FAILURE_RATE = 0.25

    def init(self, rng: random.Random) -> Polling:
        otp.trap_exit(True)
        Stats.bump("feed starts")
        otp.send_after(otp.self(), "poll", self.INTERVAL)
        return Polling(rng)

    def handle_info(self, msg: object, state: Polling) -> otp.NoReply[Polling]:
        if msg != "poll":
            return otp.NoReply(state)  # not ours: dropped
        if state.rng.random() < self.FAILURE_RATE:
            raise UpstreamError("the upstream feed timed out")
        state.polls += 1
        Stats.bump("feed polls")
        otp.send_after(otp.self(), "poll", self.INTERVAL)
        return otp.NoReply(state)

    def format_status(self, status: dict[str, object]) -> dict[str, object]:
        # What the crash report shows as the state: the count, not the generator.
        state = status["state"]
        return {**status, "state": {"polls": state.polls} if isinstance(state, Polling) else state}

    def terminate(self, reason: object, state: Polling) -> None:
        if reason == "shutdown":  # terminate also runs after a crash: stay quiet then
            print(f"  feed: closing the upstream connection after {state.polls} polls")


# -- Reporter: periodic output ------------------------------------------------------


class Reporter(otp.GenServer[float]):
    """Every second, prints the counters."""

    INTERVAL = 1.0

    def init(self, arg: None) -> float:
        otp.trap_exit(True)
        otp.send_after(otp.self(), "report", self.INTERVAL)
        return asyncio.get_running_loop().time()  # the state: when it started

    async def handle_info(self, msg: object, started: float) -> otp.NoReply[float]:
        if msg != "report":
            return otp.NoReply(started)  # not ours: dropped
        counts = await Stats.snapshot()
        running = (await otp.DynamicSupervisor.count_children("jobs"))["active"]
        elapsed = asyncio.get_running_loop().time() - started
        print(f"[{elapsed:4.1f}s] {describe(counts, running)}")
        otp.send_after(otp.self(), "report", self.INTERVAL)
        return otp.NoReply(started)

    def terminate(self, reason: object, state: float) -> None:
        print("  reporter: stopped reporting")


def describe(counts: dict[str, int], running: int | None = None) -> str:
    jobs = f"{counts.get('jobs dispatched', 0)} jobs dispatched, {counts.get('jobs done', 0)} done"
    if running is not None:
        jobs += f", {running} running"
    restarts = max(counts.get("feed starts", 1) - 1, 0)
    feed = f"{counts.get('feed polls', 0)} polls, {restarts} restart{'' if restarts == 1 else 's'}"
    return f"{jobs}; feed: {feed}"


# -- the application ----------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    seed: int
    report_to: otp.Pid


class App(otp.Supervisor):
    def init(self, config: Config) -> otp.SupervisorSpec:
        return otp.SupervisorSpec(
            [
                Audit.child_spec(name="audit"),
                Stats.child_spec(config.report_to, name="stats"),
                otp.Registry.child_spec(keys="unique", name="sessions"),
                otp.DynamicSupervisor.child_spec(name="jobs", id="jobs"),
                Dispatcher.child_spec(random.Random(config.seed), name="dispatcher"),
                Feed.child_spec(random.Random(config.seed + 1), name="feed"),
                Reporter.child_spec(name="reporter"),
            ],
            strategy="one_for_one",
            # The Feed fails once in four polls on average, and at most 13
            # times in 5 s: allow that many restarts before giving up.
            max_restarts=15,
            max_seconds=5.0,
        )


@dataclass(frozen=True)
class Summary:
    seconds: float  # how long the application ran
    interrupted: bool  # stopped by SIGINT/SIGTERM rather than by the time limit
    counts: dict[str, int]  # the final counts from Stats

    @property
    def feed_restarts(self) -> int:
        return max(self.counts.get("feed starts", 1) - 1, 0)


async def main(seconds: float = 3.0, seed: int = 1, observer: int | None = None) -> Summary:
    """Run the application for `seconds` (0: until SIGINT/SIGTERM), then stop it.

    `observer`: serve the live dashboard on that port (0: any free port).
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    # Trapping exits turns the exit signal "shutdown" that otp.run sends to
    # main on SIGINT/SIGTERM into a message, so main can stop the tree
    # itself and then print a summary.
    otp.trap_exit(True)
    app = await App.start_link(Config(seed, report_to=otp.self()), name="app")
    assert app is not None  # App.init never returns otp.Ignore()
    services = len(await otp.Supervisor.which_children(app))
    until = f"running for {seconds:g} s" if seconds else "running until stopped"
    print(f"app started: {services} services, {until} (Ctrl-C stops it)")
    if observer is not None:
        dashboard = await otp.observer.start_link(port=observer)
        print(f"Observer: {dashboard.url}")
    sys.stdout.flush()
    try:
        exited = await otp.receive(
            timeout=seconds or None, match=lambda m: isinstance(m, otp.Exited)
        )
    except TimeoutError:
        exited = None
    if isinstance(exited, otp.Exited) and exited.pid == app:
        raise otp.Exit(exited.reason)  # the tree gave up (restart intensity): let it crash
    interrupted = exited is not None  # the exit signal otp.run sends on SIGINT/SIGTERM
    elapsed = loop.time() - started
    print("interrupted" if interrupted else "time is up", end="")
    print(": stopping the services in reverse start order")
    await otp.stop(app, "shutdown")
    # Stats sent its final counts from terminate, before otp.stop returned.
    final = await otp.receive(
        timeout=0, match=lambda m: isinstance(m, tuple) and m[0] == "final counts"
    )
    assert isinstance(final, tuple)
    counts: dict[str, int] = final[1]
    dispatched, done = counts.get("jobs dispatched", 0), counts.get("jobs done", 0)
    print(f"summary after {elapsed:.1f} s: {describe(counts)}")
    print(f"  {dispatched - done} unfinished jobs were cut short; every service stopped cleanly")
    return Summary(round(elapsed, 3), interrupted, counts)


def cli() -> None:
    parser = argparse.ArgumentParser(description="Run the example job service.")
    parser.add_argument(
        "--seconds", type=float, default=3.0, help="how long to run (3; 0: until Ctrl-C)"
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (1)")
    parser.add_argument(
        "--observer", type=int, metavar="PORT", help="serve the live dashboard on PORT (0: any)"
    )
    parser.add_argument("--name", metavar="NODE", help="run as the distributed node NODE")
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        otp.run(main, args.seconds, args.seed, args.observer, node=args.name)
    except KeyboardInterrupt:
        sys.exit(130)  # the graceful shutdown already ran; no traceback


if __name__ == "__main__":
    cli()
