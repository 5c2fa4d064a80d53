"""Term codec benchmark: the compiled codec against the pure-Python one, in one run.

For each term, the encode and the decode of both codecs are timed in the
same process, interleaved (pure, compiled, pure, compiled...), and the
table reports the best time of each and the ratio pure / compiled. Ratios
of interleaved runs are stable on a noisy machine; the lone timings are not.

Decoding goes through a `Decoder` kept across terms, as a connection does
(`decoder.decode_from(data, 0)`), so pids are interned once; encoding is
`encode(term)`. The terms:

- the request of `bench/dist.py`, `{echo, 12345, <<"hello">>}`;
- a call as it travels, `{'$gen_call', {Pid, [alias | Ref]}, Request}`;
- its reply as sent with ALIAS_SEND, `{[alias | Ref], Reply}`;
- a map of 100 entries (atom keys, integer values);
- `lists:seq(0, 1999)`, a list of integers;
- a binary of 10 KB.

The target: decoding the call and encoding the reply at least 3x faster.

Usage::

    python bench/codec.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from functools import partial

from otp import Atom
from otp._runtime._ids import _new_ref, _new_remote_pid
from otp.distribution import ImproperList, _term_compiled, _term_decode, _term_encode

perf = time.perf_counter
NODE = "bench@127.0.0.1"
REQUEST = (Atom("echo"), 12345, "hello")
TAG = ImproperList([Atom("alias")], _new_ref(NODE, 3, (1, 2, 3)))
CALL = (Atom("$gen_call"), (_new_remote_pid(NODE, 42, 0, 3), TAG), REQUEST)
TERMS: list[tuple[str, object]] = [
    ('request {echo, 12345, <<"hello">>}', REQUEST),
    ("$gen_call message {'$gen_call', {Pid, [alias | Ref]}, Request}", CALL),
    ("reply {[alias | Ref], Reply}", (TAG, REQUEST)),
    ("map of 100 entries", {Atom(f"key{i}"): i for i in range(100)}),
    ("lists:seq(0, 1999)", list(range(2000))),
    ("binary of 10 KB", bytes(range(256)) * 40),
]


def best_pair(
    n: int, pure: Callable[[], object], fast: Callable[[], object]
) -> tuple[float, float]:
    """Best microseconds per call of each, over interleaved rounds of `n` calls."""
    best = [float("inf"), float("inf")]
    for _ in range(5):
        for i, fn in enumerate((pure, fast)):
            t0 = perf()
            for _ in range(n):
                fn()
            best[i] = min(best[i], (perf() - t0) * 1e6 / n)
    return best[0], best[1]


def measure(n: int) -> list[tuple[str, int, float, float, float, float]]:
    """Per term: label, size, pure and compiled encode, pure and compiled decode (us)."""
    pure_decoder = _term_decode.Decoder()
    fast_decoder = _term_compiled.Decoder()
    rows = []
    for label, term in TERMS:
        data = _term_encode.encode(term)
        assert _term_compiled.encode(term) == data, label
        rounds = max(50, n * 40 // len(data)) if len(data) > 400 else n  # big terms: fewer
        enc = best_pair(
            rounds, partial(_term_encode.encode, term), partial(_term_compiled.encode, term)
        )
        dec = best_pair(
            rounds, partial(pure_decoder.decode_from, data), partial(fast_decoder.decode_from, data)
        )
        rows.append((label, len(data), *enc, *dec))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    args = parser.parse_args(argv)
    if not _term_compiled.AVAILABLE:
        sys.exit(
            "bench/codec.py: the compiled codec is not built (pip install -e . with a C compiler)"
        )
    rows = measure(2_000 if args.quick else 20_000)
    print(
        f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; "
        "best of 5 interleaved rounds, microseconds per operation.\n"
    )
    print(
        "| term | bytes | encode pure | encode compiled | ratio "
        "| decode pure | decode compiled | ratio |\n|---|---|---|---|---|---|---|---|"
    )
    for label, size, enc_pure, enc_fast, dec_pure, dec_fast in rows:
        print(
            f"| {label} | {size:,} | {enc_pure:.2f} | {enc_fast:.2f} | {enc_pure / enc_fast:.1f}x "
            f"| {dec_pure:.2f} | {dec_fast:.2f} | {dec_pure / dec_fast:.1f}x |"
        )


if __name__ == "__main__":
    main()
