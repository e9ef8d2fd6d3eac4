"""Evaluate stage: judge the fine-tuned model's answers beside the base model's, on the same sets.

    python -m PACKAGE.evaluate --answers answers/baseline answers/finetuned \
        --test data/split/test.jsonl --golden data/golden \
        --out reports/evaluate --plots plots/evaluate --metrics metrics/evaluate.json

The baseline stage answered every eval set with the base model (`base`, zero-shot, and
`base_prompted`, with solved examples in the prompt) and the generate stage with the fine-tuned
model (`finetuned`); this stage judges each answer by its item's check (evals/checks.py). The
metrics hold pass rates overall, per bucket, per risk tier and per tool for each model and set,
the fine-tuned model's consistency, the rejected line counts, the optional judge and the gate
verdict (evals/gating.py). Every judged answer is in `predictions.jsonl`, every rejected eval
line in `rejected.jsonl`; `report.md` has the tables. No model is loaded here: a change of a
check, the refusal patterns or a gate threshold re-runs seconds of judging.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .data.jsonl import read_json, read_jsonl, write_json, write_jsonl
from .errors import UserError, reported
from .evals.checks import CheckError, check_refusal_patterns
from .evals.gating import check_gate, tolerated
from .evals.scoring import judged
from .evals.sets import eval_paths, read_sets
from .params import evaluate as params_mod
from .views.tables import bucket_plot, confusion_plot, markdown_report

MODELS = ("base", "base_prompted", "finetuned")


def read_answers(folders: list[Path]) -> dict[str, dict[str, list[dict]]]:
    """Answer records per model and set."""
    answers: dict[str, dict[str, list[dict]]] = {}
    for folder in folders:
        for record in read_jsonl(folder / "answers.jsonl"):
            answers.setdefault(record["model"], {}).setdefault(record["set"], []).append(record)
    return answers


def judge_all(items: dict, answers: dict, p: params_mod.EvaluateParams) -> tuple[dict, list[dict]]:
    """(report per model and set, every judged answer). An item without an answer means the answers
    are older than the eval sets: re-run the stage that wrote them."""
    report, predictions = {}, []
    for model in MODELS:
        for name, records in sorted(answers.get(model, {}).items()):
            if name not in items:
                raise UserError(
                    f"{model} answered eval set '{name}', which evaluate does not read; re-run dvc repro"
                )
            try:
                summary, results = judged(items[name], records, p.refusal_patterns)
            except KeyError as e:
                raise UserError(
                    f"{model} has no answer to {name} item {e.args[0]!r}: the answers are older than the "
                    "eval set; re-run dvc repro"
                ) from None
            report.setdefault(model, {})[name] = summary
            predictions += results
    missing = [f"{m}/{s}" for m in ("base", "finetuned") for s in items if s not in report.get(m, {})]
    if missing:
        raise UserError(
            f"no answers for {', '.join(missing)}; run the baseline and generate stages (dvc repro)"
        )
    return report, predictions


def main(
    p: params_mod.EvaluateParams,
    sets: dict[str, Path],
    answers: list[Path],
    out: Path,
    plots: Path,
    metrics: Path,
    answer_metrics: list[Path] = (),
) -> dict:
    """`answers`: the folders the baseline and generate stages wrote; `answer_metrics`: their
    metrics files (few-shot use, consistency, seconds), carried into the report."""
    start = time.time()
    try:
        check_refusal_patterns(p.refusal_patterns)
    except CheckError as e:
        raise UserError(str(e)) from None
    items, rejected, inputs = read_sets(sets, p)
    if p.judge.enabled:
        from .evals import modeljudge

        modeljudge.client(p.judge)  # no openai client: say so before anything else
    report, predictions = judge_all(items, read_answers(answers), p)
    for file in answer_metrics:
        if not file.exists():
            raise UserError(f"{file}: no such file; the baseline and generate stages write it (dvc repro)")
        stage = read_json(file)
        if "fewshot" in stage:
            report["fewshot"] = stage["fewshot"]
        for name, agreement in (stage.get("consistency") or {}).items():
            report["finetuned"][name]["consistency"] = agreement
        report.setdefault("generation_seconds", {})[file.stem] = stage.get("seconds")
    report["delta"] = {
        s: round(report["finetuned"][s]["pass_rate"] - report["base"][s]["pass_rate"], 4) for s in items
    }
    if "base_prompted" in report:
        report["delta_vs_prompted"] = {
            s: round(report["finetuned"][s]["pass_rate"] - b["pass_rate"], 4)
            for s, b in report["base_prompted"].items()
        }
    report |= {"inputs": inputs, "rejected": {s: sum(r["set"] == s for r in rejected) for s in items}}
    report["rejected_file"] = str(out / "rejected.jsonl")
    if p.judge.enabled:
        from .evals import modeljudge

        report["judge"] = modeljudge.pairwise(predictions, p.judge)
    reasons = check_gate(report, p.gate)
    report["gate"] = {"passed": not reasons, "reasons": reasons, "tolerated": tolerated(report, p.gate)}
    report["seconds"] = round(time.time() - start, 1)
    write_json(metrics, report)
    write_jsonl(out / "predictions.jsonl", predictions)
    write_jsonl(out / "rejected.jsonl", rejected)
    (out / "report.md").write_text(markdown_report(report, predictions, rejected), encoding="utf-8")
    write_json(plots / "buckets.json", {"buckets": bucket_plot(report)})
    write_json(plots / "confusion.json", {"confusion": confusion_plot(predictions, p.classification_buckets)})
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description="Judge the fine-tuned model's answers beside its base's, per bucket."
    )
    parser.add_argument("--answers", type=Path, nargs="+", required=True, help="folders of answers.jsonl")
    parser.add_argument(
        "--answer-metrics", type=Path, nargs="*", default=[], help="the baseline and generate stages' metrics"
    )
    parser.add_argument("--test", type=Path, required=True)
    parser.add_argument("--golden", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--plots", type=Path, required=True)
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args()
    with reported("evaluate"):
        p = params_mod.load(args.params)
        sets = eval_paths(args.test, args.golden, p)
        r = main(p, sets, args.answers, args.out, args.plots, args.metrics, args.answer_metrics)
    for s, tuned in r["finetuned"].items():
        prompted = r.get("base_prompted", {}).get(s)
        k_shot = f", prompted {prompted['pass_rate']:.2f}" if prompted else ""
        base = r["base"][s]["pass_rate"]
        print(f"evaluate: {s}: base {base:.2f}{k_shot} -> fine-tuned {tuned['pass_rate']:.2f}")
    if any(r["rejected"].values()):
        counts = ", ".join(f"{s} {n}" for s, n in r["rejected"].items() if n)
        print(f"evaluate: rejected eval lines ({counts}), see {r['rejected_file']}")
    if "error" in r.get("judge", {}):
        print(f"evaluate: judge failed, kept the evaluation: {r['judge']['error']}")
    print(
        "evaluate: gate "
        + ("passed" if r["gate"]["passed"] else "FAILED: " + "; ".join(r["gate"]["reasons"]))
    )
    if notes := r["gate"]["tolerated"]:  # each one is under the verdict in report.md and by `make gate`
        print(f"evaluate: gate tolerated {len(notes)} fall(s) by gate.max_regression_by_set, e.g. {notes[0]}")
