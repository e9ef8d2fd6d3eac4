"""Generate stage: the fine-tuned model answers every eval set; evaluate judges the answers.

    python -m PACKAGE.generate --model models/merged --test data/split/test.jsonl --golden data/golden \
        --out answers/finetuned --metrics metrics/generate.json

The same sets and the same generation settings as the baseline stage (evaluate's
`max_new_tokens`, `batch_size`, `do_sample`, ...), plus the consistency samples of the model to
release (`evaluate.consistency`). Answers go to OUT/answers.jsonl, agreement per set to the
metrics. Generation is the slow part of an evaluation; judging and gating are evaluate's, so a
change of a threshold re-runs seconds of judging, not this.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from . import chatter
from .data.jsonl import write_json, write_jsonl
from .errors import reported
from .evals import generation
from .evals.sets import answer_sets, eval_paths, read_sets
from .params import evaluate as params_mod


def main(p: params_mod.EvaluateParams, model: Path, sets: dict[str, Path], out: Path, metrics: Path) -> dict:
    start = time.time()
    items, _, _ = read_sets(sets, p)
    lm, tok = generation.load(str(model), None, p.seed, stage="generate")
    records, consistency = answer_sets("generate: finetuned", lm, tok, items, p, consistent=True)
    report = {
        "sets": {s: len(v) for s, v in items.items()},
        "consistency": consistency,
        "seconds": round(time.time() - start, 1),
    }
    write_jsonl(out / "answers.jsonl", records)
    write_json(metrics, report)
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="The fine-tuned model's answers to every eval set.")
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--test", type=Path, required=True)
    parser.add_argument("--golden", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args()
    with reported("generate"):
        chatter.to_log("generate")
        p = params_mod.load(args.params)
        r = main(p, args.model, eval_paths(args.test, args.golden, p), args.out, args.metrics)
    print(f"generate: answered {', '.join(f'{s} {n}' for s, n in r['sets'].items())} in {r['seconds']} s")
