"""A bare node serving its dashboard, run as a program by the browser tests.

    python tests/observer/dashboard_node.py --observer PORT [--token TOKEN]
        [--processes N] [--name NODE] [--seconds 0]

Serves `otp.observer` on PORT (0: any free port), behind `token=TOKEN` when
given, with N idle processes besides (more than a page of the process
table); prints `Observer: URL` once it listens, as `examples/app.py` does,
and runs until SIGINT or SIGTERM (exit status 143 after SIGTERM).
`--seconds` is accepted for the app's command line, and must be 0.
"""

from __future__ import annotations

import argparse
import importlib
import sys

import otp


async def idle() -> None:
    """Wait for a message that never comes, until the node shuts down."""
    await otp.receive()


async def main(port: int, token: str | None, processes: int) -> None:
    """Serve the dashboard, start the idle processes, then wait for the shutdown."""
    for _ in range(processes):
        otp.spawn(idle)
    # By name: `otp.observer` is an extra (otp[observer]), not always there.
    observer = importlib.import_module("otp.observer")
    dashboard = await observer.start_link(port=port, token=token)
    print(f"Observer: {dashboard.url}")
    sys.stdout.flush()
    await otp.receive()  # never comes: SIGTERM's exit signal "shutdown" ends main


def cli() -> None:
    parser = argparse.ArgumentParser(description="Serve the dashboard of a bare node.")
    parser.add_argument("--observer", type=int, metavar="PORT", required=True)
    parser.add_argument("--token", help="the token every request must carry")
    parser.add_argument("--processes", type=int, default=0, help="idle processes to start")
    parser.add_argument("--name", metavar="NODE", help="run as the distributed node NODE")
    parser.add_argument("--seconds", type=float, default=0.0, choices=[0.0])
    args = parser.parse_args()
    otp.run(main, args.observer, args.token, args.processes, node=args.name)


if __name__ == "__main__":
    cli()
