"""Compare the workspace's run with another revision: the report a pull request gets.

    python -m PACKAGE.compare --base main --out reports/compare

Writes `report.md` (gate verdict, per-bucket pass rates of both revisions, `dvc params diff`,
`dvc metrics diff`) and `loss.svg` (training and validation loss of both revisions, an image
that needs no script to render). CI posts the markdown as the pull-request comment; the gate
command, not this report, decides the check.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import subprocess
from pathlib import Path

from .evals.svgplot import line_chart

EVALUATE = "metrics/evaluate.json"
CURVES = {
    "train": "plots/train/plots/metrics/loss.tsv",
    "validation": "plots/train/plots/metrics/eval/loss.tsv",
}


def at_revision(path: str, rev: str | None) -> str | None:
    """A git-tracked file's text at `rev` (None = the workspace); None when it is not there."""
    if rev is None:
        return Path(path).read_text() if Path(path).exists() else None
    shown = subprocess.run(["git", "show", f"{rev}:{path}"], capture_output=True, text=True)
    return shown.stdout if shown.returncode == 0 else None


def dvc_markdown(args: list[str]) -> str:
    result = subprocess.run(["dvc", *args, "--md"], capture_output=True, text=True)
    if result.returncode != 0:
        return f"`dvc {' '.join(args)}` failed: {result.stderr.strip()}"
    return result.stdout.strip() or "No changes."


def bucket_rows(base: dict | None, head: dict, label: str) -> list[str]:
    lines = [
        f"| bucket ({label}) | {'base rev' if base else 'base rev (none)'} | this | delta |",
        "|---|---:|---:|---:|",
    ]
    for eval_set, summary in head["finetuned"].items():
        before_set = (base or {}).get("finetuned", {}).get(eval_set, {})
        names = [("all", summary, before_set)] + [
            (b, s, before_set.get("by_bucket", {}).get(b, {})) for b, s in summary["by_bucket"].items()
        ]
        for name, now, before in names:
            b = before.get("pass_rate")
            delta = f"{now['pass_rate'] - b:+.2f}" if b is not None else "n/a"
            was = f"{b:.2f}" if b is not None else "–"
            lines.append(f"| {eval_set}/{name} | {was} | {now['pass_rate']:.2f} | {delta} |")
    return lines


def curves(rev: str | None, label: str) -> dict[str, list[tuple[float, float]]]:
    series = {}
    for name, path in CURVES.items():
        text = at_revision(path, rev)
        if text:
            rows = csv.DictReader(io.StringIO(text), delimiter="\t")
            series[f"{name} ({label})"] = [(float(r["step"]), float(r["loss"])) for r in rows]
    return series


def main(base: str, out: Path) -> str:
    head = json.loads(at_revision(EVALUATE, None) or "null")
    if head is None:
        raise SystemExit(f"compare: {EVALUATE} is missing; run `dvc repro` first")
    before = json.loads(at_revision(EVALUATE, base) or "null")
    gate = head.get("gate", {"passed": False, "reasons": ["no gate verdict in the metrics"]})
    verdict = "PASSED" if gate["passed"] else "FAILED"
    out.mkdir(parents=True, exist_ok=True)
    chart = line_chart({**curves(base, base), **curves(None, "this")}, "Loss", "dvclive step", "loss")
    (out / "loss.svg").write_text(chart, encoding="utf-8")
    parts = [
        f"# Experiment report: this revision vs `{base}`",
        f"**Gate: {verdict}**" + "".join(f"\n- {r}" for r in gate["reasons"]),
        "## Pass rate of the fine-tuned model\n\n" + "\n".join(bucket_rows(before, head, "set/bucket")),
        "## Params\n\n" + dvc_markdown(["params", "diff", base]),
        "## Metrics\n\n" + dvc_markdown(["metrics", "diff", base, "--precision", "3"]),
        "## Training curves\n\n![loss](loss.svg)",
    ]
    report = "\n\n".join(parts) + "\n"
    (out / "report.md").write_text(report, encoding="utf-8")
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Build the experiment comparison report.")
    parser.add_argument("--base", default="main", help="git revision to compare with")
    parser.add_argument("--out", type=Path, default=Path("reports/compare"))
    args = parser.parse_args()
    main(args.base, args.out)
    print(f"compare: wrote {args.out / 'report.md'}")
