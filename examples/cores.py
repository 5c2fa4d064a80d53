"""Every core: word statistics over many documents, with a worker node per core.

    python examples/cores.py [--docs N] [--workers N] [--seed S]

The tree, started top to bottom::

    App        Supervisor "app", rest_for_one
    ├── peers  a worker node per core (`otp.peer.pool_spec()`): each one a
    │          new OS process, which imports this program's functions
    └── Totals GenServer "totals", on this node: the counts merged so far

`main` makes `--docs` documents (random text from `--seed`, the same every
run) and streams them through `analyse`, which parses one document and
counts its words: `Task.async_stream(analyse, docs, nodes=nodes,
chunk_size=50)` spreads them over the worker nodes, 50 documents per
message, and `main` casts each result to Totals. Then it runs the same
stream on this node alone, and prints both times and the speed-up.

What a lost worker does: its OS process is gone, the pool's supervisor
starts a new one under the same name, and the documents it was working on
come back as `("exit", "noconnection")`; `main` sends those again (kill a
worker with `kill <pid>` while it runs to see it). Every worker stops when
this program stops, also when it is killed.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections import Counter

import otp

WORDS = re.compile(r"[a-z']+")
#: A vocabulary, most common first: documents draw from it with Zipf's law.
VOCABULARY = (
    "the of and to in a is that for it as was with be by on not he this are or his "
    "from at which but have an they you were her she there been one all we their "
    "node process supervisor message link monitor restart core worker state call "
    "cast reply mailbox timer table registry partition stream chunk cookie peer"
).split()


# -- the work (runs on the worker nodes) ------------------------------------------------


def analyse(doc: str) -> tuple[dict[str, int], dict[str, int]]:
    """Parse one document: its word counts, and its five most common word pairs.

    Pure-Python work of about a millisecond a document: it holds the GIL
    throughout, so on one node the documents are parsed one at a time.
    """
    words = [w.strip("'") for w in WORDS.findall(doc.lower())]
    counts: dict[str, int] = {}
    pairs: dict[tuple[str, str], int] = {}
    previous = ""
    for word in words:
        if len(word) > 2:
            counts[word] = counts.get(word, 0) + 1
            if previous:
                pair = (previous, word)
                pairs[pair] = pairs.get(pair, 0) + 1
            previous = word
    top = sorted(pairs.items(), key=lambda kv: -kv[1])[:5]
    return counts, {f"{a} {b}": n for (a, b), n in top}


def make_documents(count: int, seed: int) -> list[str]:
    """`count` documents of 80 sentences each, drawn with Zipf's law (the same per seed)."""
    rng = random.Random(seed)
    weights = [1 / (rank + 1) for rank in range(len(VOCABULARY))]
    sentences = [
        " ".join(rng.choices(VOCABULARY, weights, k=20)).capitalize() + "." for _ in range(500)
    ]
    return [" ".join(rng.choices(sentences, k=80)) for _ in range(count)]


# -- the tree (on this node) ------------------------------------------------------------


#: The state: the counts of words and of word pairs.
Counts = tuple[Counter[str], Counter[str]]


class Totals(otp.GenServer[Counts]):
    """The merged counts: cast `("add", (words, pairs))`, call `"top"` or `"reset"`."""

    def init(self, _: None) -> Counts:
        return Counter(), Counter()

    def handle_cast(self, request: object, state: Counts) -> otp.NoReply[Counts]:
        match request:
            case ("add", (dict() as words, dict() as pairs)):
                state[0].update(words)
                state[1].update(pairs)
                return otp.NoReply(state)
        raise ValueError(f"Totals got an unknown cast: {request!r}")

    def handle_call(self, request: object, from_: otp.From, state: Counts) -> otp.Reply[Counts]:
        words, pairs = state
        match request:
            case "top":
                return otp.Reply((words.most_common(5), pairs.most_common(3)), state)
            case "reset":
                return otp.Reply("ok", (Counter(), Counter()))
        raise ValueError(f"Totals got an unknown call: {request!r}")


async def count_words(docs: list[str], nodes: list[str] | None) -> float:
    """Stream `docs` through `analyse` (on `nodes`, or here); seconds taken."""
    await otp.call("totals", "reset")
    start = time.perf_counter()
    todo = docs
    while todo:
        again = []
        stream = otp.Task.async_stream(analyse, todo, nodes=nodes, chunk_size=50, timeout=60)
        i = 0
        async for status, value in stream:  # outcomes come in the order of `todo`
            if status == "ok":
                otp.cast("totals", ("add", value))
            else:  # its worker was lost: send it again, to the workers still there
                again.append(todo[i])
            i += 1
        todo = again
    return time.perf_counter() - start


async def main(docs_count: int = 4000, workers: int | None = None, seed: int = 1) -> None:
    nodes = otp.peer.pool_nodes(workers)
    await otp.Supervisor.start_link(
        [otp.peer.pool_spec(workers), Totals.child_spec(name="totals")],
        strategy="rest_for_one",
        name="app",
    )
    docs = make_documents(docs_count, seed)
    otp.trap_exit(True)  # a lost worker ends its chunks with an exit, not this process
    spread = await count_words(docs, nodes)
    top = await otp.call("totals", "top")
    assert isinstance(top, tuple)
    words, pairs = top
    print(f"{len(docs)} documents on {len(nodes)} worker nodes: {spread:.2f} s")
    print("top words:", ", ".join(f"{word} {n}" for word, n in words))
    print("top pairs:", ", ".join(f"{pair!r} {n}" for pair, n in pairs))
    alone = await count_words(docs, None)
    print(f"the same on this node alone: {alone:.2f} s ({alone / spread:.1f}x as long)")
    assert await otp.call("totals", "top") == top  # the same counts, either way


def cli(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description="word statistics on every core")
    parser.add_argument("--docs", type=int, default=4000, help="documents (default 4000)")
    parser.add_argument("--workers", type=int, help="worker nodes (default: one per core)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the random text")
    args = parser.parse_args(argv)
    otp.run(main, args.docs, args.workers, args.seed, node="cores@127.0.0.1")


if __name__ == "__main__":
    cli(sys.argv[1:])
