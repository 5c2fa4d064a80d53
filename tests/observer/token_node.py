"""A node whose dashboard needs a token, run as a program by the browser tests.

    python tests/observer/token_node.py --observer PORT --token TOKEN [--name NODE]

Serves `otp.observer` on PORT (0: any free port) with `token=TOKEN`, prints
`Observer: URL` once it listens, as `examples/app.py` does, and runs until
SIGINT or SIGTERM (exit status 143 after SIGTERM). `--seconds` is accepted
for the same command line as the app's, and must be 0.
"""

from __future__ import annotations

import argparse
import importlib
import sys

import otp


async def main(port: int, token: str) -> None:
    """Serve the dashboard behind `token`, then wait for the shutdown signal."""
    # By name: `otp.observer` is an extra (otp[observer]), not always there.
    observer = importlib.import_module("otp.observer")
    dashboard = await observer.start_link(port=port, token=token)
    print(f"Observer: {dashboard.url}")
    sys.stdout.flush()
    await otp.receive()  # never comes: SIGTERM's exit signal "shutdown" ends main


def cli() -> None:
    parser = argparse.ArgumentParser(description="Serve a dashboard that needs a token.")
    parser.add_argument("--observer", type=int, metavar="PORT", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--name", metavar="NODE", help="run as the distributed node NODE")
    parser.add_argument("--seconds", type=float, default=0.0, choices=[0.0])
    args = parser.parse_args()
    otp.run(main, args.observer, args.token, node=args.name)


if __name__ == "__main__":
    cli()
