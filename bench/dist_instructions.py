"""Instructions and loop iterations per remote call on the Python side, now against a base revision.

An Erlang node (`bench/dist.escript client`) calls, then casts to, the echo
server of a Python node (`bench/dist.py --serve`) that runs under
`valgrind --tool=callgrind`. Each workload runs at two sizes and the
difference in the Python node's instructions is divided by the difference
in operations: start-up, imports and the warm-up cancel out, and what
remains is the cost of one call (or cast) on the Python side. Timings on a
shared machine move by tens of percent; these counts do not.

With `--turns` the Python node runs without valgrind, on an asyncio loop
that counts its iterations (`_run_once`) and the callbacks it runs, and the
same difference gives loop iterations and callbacks per operation.

The base revision's `otp` is checked out in a temporary `git worktree`, so
the two columns differ only by the library.

Usage::

    python bench/dist_instructions.py --base 5964adf [--turns] [--calls 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
COOKIE = "bench-dist-cookie"
HOST = "127.0.0.1"

# The child: the Python node, counting its loop's iterations and callbacks if asked.
CHILD = r"""
import asyncio, asyncio.base_events, asyncio.events, atexit, runpy, sys
src, name, turns = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
sys.path.insert(0, src)
if turns:
    counts = [0, 0]
    run_once = asyncio.base_events.BaseEventLoop._run_once
    handle_run = asyncio.events.Handle._run
    def counted_run_once(self):
        counts[0] += 1
        run_once(self)
    def counted_run(self):
        counts[1] += 1
        handle_run(self)
    asyncio.base_events.BaseEventLoop._run_once = counted_run_once
    asyncio.events.Handle._run = counted_run
    atexit.register(lambda: print(f"turns {counts[0]} {counts[1]}", file=sys.stderr))
sys.argv = [src + "/bench/dist.py", "--serve", name]
runpy.run_path(src + "/bench/dist.py", run_name="__main__")
"""


async def _line(stream: asyncio.StreamReader) -> str:
    raw = await asyncio.wait_for(stream.readline(), 600)
    if not raw:
        raise RuntimeError("a node exited before it answered")
    return raw.decode().strip()


async def measure(src: Path, calls: int, casts: int, turns: bool, tag: str) -> tuple[int, ...]:
    """The Python node's instruction count (or loop counts) serving `calls` and `casts`."""
    name = f"pyserve{tag}@{HOST}"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        cmd = [sys.executable, "-c", CHILD, str(src), name, "1" if turns else "0"]
        if not turns:
            cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *cmd]
        env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(src / "src"))
        server = await asyncio.create_subprocess_exec(
            *cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        client = await asyncio.create_subprocess_exec(
            "escript",
            str(BENCH / "dist.escript"),
            "client",
            f"erlclient{tag}@{HOST}",
            COOKIE,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert server.stdout and server.stdin and client.stdout and client.stdin
        assert await _line(server.stdout) == "ready"
        assert await _line(client.stdout) == "ready"
        client.stdin.write(f"{name} {calls} {casts}\n".encode())
        await _line(client.stdout)
        client.stdin.close()
        await client.wait()
        server.stdin.close()
        _, err = await server.communicate()
        if turns:
            [counts] = re.findall(rb"turns (\d+) (\d+)", err)
            return tuple(int(c) for c in counts)
        total = re.findall(r"^(?:summary|totals): (\d+)", out.read_text(), re.MULTILINE)[0]
        return (int(total),)


async def per_op(src: Path, kind: str, n: int, turns: bool) -> tuple[float, ...]:
    def sizes(k: int) -> tuple[int, int]:
        return (k, 0) if kind == "call" else (1, k)  # the same call at both sizes

    small = await measure(src, *sizes(n), turns, "a")
    large = await measure(src, *sizes(2 * n), turns, "b")
    return tuple((b - a) / n for a, b in zip(small, large, strict=True))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--base", default="HEAD~1", help="the revision to compare with")
    parser.add_argument("--turns", action="store_true", help="count loop iterations instead")
    parser.add_argument("--calls", type=int, default=2000, help="operations at the small size")
    args = parser.parse_args(argv)
    base = Path(tempfile.mkdtemp(prefix="otp-base-"))
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "-q", str(base), args.base], check=True
    )
    try:
        if (base / "setup.py").exists():
            # The base's compiled codec, as `pip install` builds it: without it the
            # base would run the pure-Python codec and the columns would differ by more
            # than the library's code.
            subprocess.run(
                [sys.executable, "setup.py", "-q", "build_ext", "--inplace"],
                cwd=base,
                check=True,
                stdout=subprocess.DEVNULL,
            )
        what = "loop iterations, callbacks" if args.turns else "instructions"
        print(f"Python side of Erlang -> Python, {what} per operation")
        print(f"| operation | {args.base} | this checkout |")
        print("|---|---|---|")
        for kind in ("call", "cast"):
            before = asyncio.run(per_op(base, kind, args.calls, args.turns))
            after = asyncio.run(per_op(ROOT, kind, args.calls, args.turns))
            show = " / ".join  # iterations / callbacks
            print(
                f"| {kind} | {show(f'{v:,.2f}' for v in before)} "
                f"| {show(f'{v:,.2f}' for v in after)} |",
                flush=True,
            )
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)])


if __name__ == "__main__":
    main()
