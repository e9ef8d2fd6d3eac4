"""Throughput of the data stages' hot loops on synthetic data: rows/s, MB/s, peak memory.

    python bench/data_stages.py                     # 200k conversations of ~200 words, 5k eval items
    python bench/data_stages.py --rows 20000        # a quicker look

Prints figures; asserts nothing (timings on shared machines are noisy). Each measurement runs
single-process and then with --procs worker processes (forked, as the stages do).
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import random
import resource
import time

from {{ cookiecutter.package_name }} import decontaminate
from {{ cookiecutter.package_name }}.data import neardup, pii
from {{ cookiecutter.package_name }}.data.ngrams import EvalIndex

LETTERS = "etaoinshrdlcumwfgypbvkjxqz"
# A 30k-word vocabulary of letter strings (English-like: no digits to trip the PII pre-filters).
WORDS = [
    "".join(LETTERS[(i // 26**k) % 26] for k in range(1 + (i > 25) + (i > 675) + (i > 17575)))
    for i in range(30000)
]
PII_SNIPPETS = ["mail jane.doe@example.com", "call +44 20 7946 0958", "card 4111 1111 1111 1111"]


def synthetic(rows: int, evals: int, seed: int = 0) -> tuple[list[dict], list[str]]:
    rng = random.Random(seed)
    cumulative = list(itertools.accumulate(1 / (i + 1) for i in range(len(WORDS))))

    def text(n: int) -> str:  # independent Zipf draws: documents share common words, not passages
        return " ".join(rng.choices(WORDS, cum_weights=cumulative, k=n))

    eval_texts = [text(rng.randint(8, 60)) for _ in range(evals)]
    data = []
    for i in range(rows):
        body = text(190)
        if i % 50 == 0:  # 2% contaminated, 5% with PII, 5% near-duplicates of an earlier row
            body = body[:400] + " " + rng.choice(eval_texts) + " " + body[400:]
        if i % 20 == 1:
            body += " " + rng.choice(PII_SNIPPETS)
        if i % 20 == 2 and data:
            body = data[-1]["messages"][0]["content"].replace(" a ", " b ", 3)
        data.append(
            {
                "id": str(i),
                "messages": [{"role": "user", "content": body}, {"role": "assistant", "content": "ok"}],
            }
        )
    return data, eval_texts


def _pii_chunk(texts: list[str]) -> int:
    return sum(bool(pii.scan(t)) for t in texts)


def _signature_chunk(texts: list[str]):
    return neardup.signatures(texts, neardup.NearDupParams())


def _chunks(items: list, size: int = 2000) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def report(name: str, rows: int, megabytes: float, seconds: float, found: int) -> None:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{name:<32} {rows / seconds:>9,.0f} rows/s {megabytes / seconds:>7.1f} MB/s  found {found:>6}  "
        f"peak RSS {peak:,.0f} MiB"
    )


def main(rows: int, evals: int, procs: int) -> None:
    start = time.time()
    data, eval_texts = synthetic(rows, evals)
    texts = [r["messages"][0]["content"] for r in data]
    mb = sum(len(t) for t in texts) / 1e6
    print(
        f"{rows:,} conversations ({mb:,.0f} MB, ~200 words), {evals:,} eval texts; "
        f"built in {time.time() - start:.0f} s"
    )

    index = EvalIndex(n=13, min_words=3)
    for i, t in enumerate(eval_texts):
        index.add("eval", str(i), [t])
    lines = [(f"row {i}", json.dumps(r)) for i, r in enumerate(data)]  # as the stage reads its files
    for n in (1, procs):
        t0 = time.time()
        found = sum(bool(m) for _, m in decontaminate.scan(lines, index, 0.8, n))
        report(f"decontaminate 13-gram, {n} proc", rows, mb, time.time() - t0, found)

    t0 = time.time()
    nd = neardup.NearDupIndex(neardup.NearDupParams())
    keyed = zip((r["id"] for r in data), texts, strict=True)
    found = sum(match is not None for _, match in nd.add_many(keyed))
    report("near-dup MinHash+LSH, 1 proc", rows, mb, time.time() - t0, found)
    t0 = time.time()
    with multiprocessing.get_context("fork").Pool(procs) as p:
        sigs = [s for chunk in p.map(_signature_chunk, _chunks(texts)) for s in chunk]
    nd = neardup.NearDupIndex(neardup.NearDupParams())
    found = sum(nd.add_signature(r["id"], s) is not None for r, s in zip(data, sigs, strict=True))
    report(f"near-dup MinHash+LSH, {procs} proc", rows, mb, time.time() - t0, found)

    for n in (1, procs):
        t0 = time.time()
        if n == 1:
            found = _pii_chunk(texts)
        else:
            with multiprocessing.get_context("fork").Pool(n) as p:
                found = sum(p.map(_pii_chunk, _chunks(texts)))
        report(f"PII scan, {n} proc", rows, mb, time.time() - t0, found)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--evals", type=int, default=5_000)
    parser.add_argument("--procs", type=int, default=2)
    args = parser.parse_args()
    main(args.rows, args.evals, args.procs)
