"""Throughput of the data stages on synthetic data: rows/s, MB/s, peak memory.

    python bench/data_stages.py                     # 200k conversations of ~200 words, 5k eval texts
    python bench/data_stages.py --rows 20000        # a quicker look
    python bench/data_stages.py --rows 0            # decontamination against disguised copies only

Prints figures; asserts nothing (timings on shared machines are noisy). The text is word salad
with what real triage and support text carries: numbers, dates, times, versions, file names,
ticket ids, hashes, a few defanged indicators, and 5% of rows with real PII. Digits matter: they
open the numeric PII patterns (phone, card, IBAN, IP), which text without digits never runs.
Measured: the decontamination scan, near-duplicate insertion one by one and batched, the PII
scan, and the whole curate pipeline per record (JSON parsing, validation, normalisation, PII,
de-duplication) with its batched and its one-by-one near-duplicate path.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import io
import itertools
import json
import multiprocessing
import random
import resource
import tempfile
import time
from pathlib import Path

from disguises import DISGUISES, contamination_set

from {{ cookiecutter.package_name }} import decontaminate
from {{ cookiecutter.package_name }}.data import neardup, pii
from {{ cookiecutter.package_name }}.data import records as curation
from {{ cookiecutter.package_name }}.data.ngrams import EvalIndex
from {{ cookiecutter.package_name }}.data.texts import eval_texts, row_texts
from {{ cookiecutter.package_name }}.params.curate import CurateParams
from {{ cookiecutter.package_name }}.params.decontaminate import (
    DecontaminateParams,
)

LETTERS = "etaoinshrdlcumwfgypbvkjxqz"
WORDS = [  # a 30k-word vocabulary of letter strings
    "".join(LETTERS[(i // 26**k) % 26] for k in range(1 + (i > 25) + (i > 675) + (i > 17575)))
    for i in range(30000)
]
PII_SNIPPETS = [
    "mail jane.doe@example.com",
    "call +44 20 7946 0958",
    "card 4111 1111 1111 1111",
    "iban DE89 3704 0044 0532 0130 00",
]


def _token(rng: random.Random) -> str:
    """A token with digits, as logs, tickets and scanner output have them."""
    kind = rng.randrange(9)
    if kind == 0:
        return str(rng.randint(0, 99999))
    if kind == 1:
        return f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    if kind == 2:
        return f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
    if kind == 3:
        return f"v{rng.randint(1, 12)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"
    if kind == 4:
        return f"INC{rng.randint(100000, 999999)}"
    if kind == 5:
        return f"{rng.choice(WORDS[:500])}_{rng.randint(1, 9999)}.{rng.choice(['exe', 'pdf', 'zip'])}"
    if kind == 6:
        return f"{rng.getrandbits(128):032x}"
    if kind == 7:
        return ".".join(str(rng.randint(1, 254)) for _ in range(4)).replace(".", "[.]")
    return f"level {rng.randint(0, 10)}/10"


def synthetic(rows: int, evals: int, seed: int = 0) -> tuple[list[dict], list[str]]:
    rng = random.Random(seed)
    cumulative = list(itertools.accumulate(1 / (i + 1) for i in range(len(WORDS))))

    def text(n: int) -> str:  # Zipf words, one token in twenty with digits
        words = rng.choices(WORDS, cum_weights=cumulative, k=n)
        return " ".join(_token(rng) if rng.random() < 1 / 20 else w for w in words)

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
                "messages": [{"role": "user", "content": body}, {"role": "assistant", "content": f"ok {i}"}],
            }
        )
    return data, eval_texts


def _pii_chunk(texts: list[str]) -> int:
    return sum(bool(pii.scan(t, pii.PII_TYPES)) for t in texts)


def _chunks(items: list, size: int = 2000) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class Timer:
    """Wall time, and this process's CPU time: on a shared machine the second is the steadier figure
    for single-process steps (it leaves out the time other programs held the cores)."""

    def __enter__(self) -> Timer:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def report(name: str, rows: int, megabytes: float, timer: Timer, found: int, procs: int = 1) -> None:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    per_cpu = f"{rows / timer.cpu:>9,.0f}" if procs == 1 else f"{'-':>9}"
    print(
        f"{name:<38} {rows / timer.wall:>9,.0f} rows/s {megabytes / timer.wall:>6.1f} MB/s "
        f"{per_cpu} rows/CPU-s  found {found:>6}  peak RSS {peak:,.0f} MiB",
        flush=True,
    )


def main(rows: int, evals: int, procs: int) -> None:
    start = time.time()
    data, eval_texts = synthetic(rows, evals)
    texts = [r["messages"][0]["content"] for r in data]
    mb = sum(len(t) for t in texts) / 1e6
    digits = sum(ch.isdigit() for t in texts[:1000] for ch in t) / sum(len(t) for t in texts[:1000])
    print(
        f"{rows:,} conversations ({mb:,.0f} MB, ~200 words, {digits:.1%} digits), {evals:,} eval texts; "
        f"built in {time.time() - start:.0f} s"
    )
    records = [("bench", "line", i, json.dumps(r).encode()) for i, r in enumerate(data)]  # as the stages read

    with tempfile.TemporaryDirectory() as tmp:  # the whole stage, both passes, from files to files
        split, out = Path(tmp) / "split", Path(tmp) / "out"
        split.mkdir()
        (split / "train.jsonl").write_bytes(b"".join(r[3] + b"\n" for r in records))
        (split / "val.jsonl").write_bytes(b"")
        evals = [
            {"id": str(i), "messages": [{"role": "user", "content": t}]} for i, t in enumerate(eval_texts)
        ]
        (Path(tmp) / "test.jsonl").write_text("".join(json.dumps(e) + "\n" for e in evals))
        for n in (1, procs):
            p = dataclasses.replace(DecontaminateParams(), num_proc=n)
            with Timer() as timer, contextlib.redirect_stderr(io.StringIO()):
                result = decontaminate.main(p, split, [Path(tmp) / "test.jsonl"], out, Path(tmp) / "m.json")
            removed = result["train"]["removed"]
            report(f"decontaminate stage {p.ngram}-gram, {n} proc", rows, mb, timer, removed, n)
    index = EvalIndex(n=p.ngram, min_words=p.min_words, boilerplate=p.boilerplate, window=p.window)
    for i, t in enumerate(eval_texts):
        index.add("eval", str(i), [t])
    with Timer() as timer:  # the first pass alone, rows in memory: what Janitor's figure measures
        found = sum(bool(m) for _, (_, m) in decontaminate.scan(records, index, p.threshold, 1))
    report("  its matching alone (rows in memory)", rows, mb, timer, found)
    try:  # the peer on a share of the rows, matching in memory: pure Python, it is slow
        sample = texts[: min(rows, 20_000)]
        _, theirs = _janitor_flags(eval_texts, sample)
        print(
            f"{'  lm-eval Janitor (13-gram) matching':<38} {len(sample) / theirs.cpu:>26,.0f} rows/CPU-s"
            f"  (matching alone is {rows / timer.cpu * theirs.cpu / len(sample):.0f}x faster)",
            flush=True,
        )
    except ImportError:
        pass

    for name, batch in (("one by one", 1), ("batched", 1024)):
        with Timer() as timer:
            nd = neardup.NearDupIndex(neardup.NearDupParams())
            keyed = zip((r["id"] for r in data), texts, strict=True)
            found = sum(match is not None for _, match in nd.add_many(keyed, batch_size=batch))
        report(f"near-dup MinHash+LSH, {name}", rows, mb, timer, found)

    for n in (1, procs):
        with Timer() as timer:
            if n == 1:
                found = _pii_chunk(texts)
            else:
                with multiprocessing.get_context("fork").Pool(n) as p:
                    found = sum(p.map(_pii_chunk, _chunks(texts)))
        report(f"PII scan (all types), {n} proc", rows, mb, timer, found, n)

    for name, batch in (("one by one", 1), ("batched", curation.BATCH)):
        curation.BATCH = batch
        with Timer() as timer:  # rows are counted, not kept: the stage streams them to files
            found = sum(record is not None for _, record in curation.Curator(CurateParams()).run(records))
        report(f"curate per record, near-dup {name}", rows, mb, timer, found)


def _janitor_flags(evals: list[str], rows: list[str]) -> tuple[list[bool], Timer]:
    """lm-evaluation-harness's Janitor (13-grams, pure Python) as a peer: flags and matching time."""
    from lm_eval.decontamination.janitor import Janitor

    janitor = Janitor()
    for text in evals:
        janitor.register_contaminant_python(text)
    with Timer() as timer:
        flags = [janitor.clean_python(row) != [row] for row in rows]
    return flags, timer


def disguises(per_kind: int, seed: int = 1) -> None:
    """Recall per disguise kind on bench/disguises.py's set, clean rows removed, and speed, for
    the project's index (its default params) and, when installed, lm-eval's Janitor."""
    p = DecontaminateParams()
    evals, rows = contamination_set(seed=seed, per_kind=per_kind)
    index = EvalIndex(n=p.ngram, min_words=p.min_words, boilerplate=p.boilerplate, window=p.window)
    for e in evals:
        index.add("eval", e["id"], eval_texts(e))
    texts = [row_texts(r) for r in rows]
    index.matches([], p.threshold)  # lookup tables built once, as the stage does before its scan
    with Timer() as ours:
        found = [
            any(r["eval"] is None or item == r["eval"] for _, item, _, _ in m)
            for r, m in zip(rows, index.match_all(texts, p.threshold), strict=True)
        ]
    try:
        peer, theirs = _janitor_flags([" ".join(eval_texts(e)) for e in evals], ["\n".join(t) for t in texts])
    except ImportError:
        peer, theirs = None, None
    totals, hits, peer_hits = collections.Counter(), collections.Counter(), collections.Counter()
    for i, r in enumerate(rows):
        totals[r["kind"]] += 1
        hits[r["kind"]] += found[i]
        peer_hits[r["kind"]] += bool(peer and peer[i])
    print(f"{'disguise kind':<20} {'project':>9} {'Janitor':>9}   (removed; the last two must stay)")
    for kind in totals:
        theirs_text = f"{peer_hits[kind]}/{totals[kind]}" if peer else "-"
        print(f"{kind:<20} {hits[kind]:>4}/{totals[kind]:<4} {theirs_text:>9}")
    caught = sum(hits[k] for k in DISGUISES)
    print(f"all disguises        {caught / sum(totals[k] for k in DISGUISES):.1%}")
    speed = f"{len(rows) / ours.cpu:,.0f} rows/CPU-s on these rows (copies, most not ASCII: the slow path)"
    if peer and theirs:
        speed += f" vs Janitor {len(rows) / theirs.cpu:,.0f} rows/CPU-s ({theirs.cpu / ours.cpu:.0f}x)"
    print(f"matching speed       {speed}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--evals", type=int, default=5_000)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--disguises", type=int, default=60, help="copies per disguise kind; 0 = skip")
    args = parser.parse_args()
    if args.disguises:
        disguises(args.disguises)
    if args.rows:
        main(args.rows, args.evals, args.procs)
