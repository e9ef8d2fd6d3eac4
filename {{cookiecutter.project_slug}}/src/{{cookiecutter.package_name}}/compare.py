"""Compare this branch's run with the base branch and the last release: the pull-request report.

    python -m PACKAGE.compare --base main [--out reports/compare] [--full-report-url URL]   # `make compare`

Read top to bottom in half a minute: the gate verdict; which buckets fell; the fine-tuned
model's pass rate per set and bucket on the base branch, here and at the last release (the
newest `<model>@vX.Y.Z` tag), with the deltas; then the charts (every dvc.yaml plot, this run
against both revisions, drawn to SVG next to the report). The params diff, the metrics diff
(timings left out: they differ on every run) and the per-metric training curves are folded.
OUT/report.md is what CI posts and fits one GitHub comment; OUT/report-full.md has every line.
The gate command, not this report, decides the check.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path

import yaml

from . import plots
from .errors import UserError, reported
from .views.comment import Section, fit

EVALUATE = "metrics/evaluate.json"
TIMING = re.compile(r"seconds|runtime|elapsed|duration|timestamp|per_second", re.IGNORECASE)
RELEASE = re.compile(r"@v(\d+)\.(\d+)\.(\d+)$")


def checked_revision(rev: str) -> str:
    if rev.startswith("-"):
        raise UserError(
            f"--base {rev!r} is not a revision: a value starting with '-' would be read by git as an option"
        )
    cmd = ["git", "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"]
    if subprocess.run(cmd, capture_output=True).returncode != 0:
        raise UserError(
            f"--base {rev!r} is not a commit of this repository (fetch it first: git fetch origin)"
        )
    return rev


def at_revision(path: str, rev: str | None) -> str | None:
    """A git-tracked file's text at `rev` (None = the workspace); None when it is not there."""
    if rev is None:
        return Path(path).read_text() if Path(path).exists() else None
    shown = subprocess.run(
        ["git", "show", "--end-of-options", f"{rev}:{path}"], capture_output=True, text=True
    )
    return shown.stdout if shown.returncode == 0 else None


def last_release() -> str | None:
    """The newest `<model>@vX.Y.Z` tag of the model dvc.yaml declares, if it was ever released."""
    artifacts = yaml.safe_load(Path("dvc.yaml").read_text()).get("artifacts") or {}
    if len(artifacts) != 1:
        return None
    model = next(iter(artifacts))
    tags = subprocess.run(
        ["git", "tag", "--list", f"{model}@v*"], capture_output=True, text=True
    ).stdout.split()
    versions = {tuple(map(int, m.groups())): t for t in tags if (m := RELEASE.search(t))}
    return versions[max(versions)] if versions else None


def pass_rates(evaluation: dict | None) -> dict[str, float]:
    """'set/bucket' -> the fine-tuned model's pass rate; 'set/all' first in each set."""
    rates = {}
    for eval_set, summary in (evaluation or {}).get("finetuned", {}).items():
        rates[f"{eval_set}/all"] = summary["pass_rate"]
        rates |= {f"{eval_set}/{b}": s["pass_rate"] for b, s in summary.get("by_bucket", {}).items()}
    return rates


def bucket_table(here: dict[str, float], others: dict[str, dict[str, float]]) -> str:
    head = "| set/bucket | " + " | ".join(
        f"{label} | this | delta" if i == 0 else f"{label} | delta" for i, label in enumerate(others)
    )
    lines = [head + " |", "|---|" + "---:|" * (2 * len(others) + 1)]
    for key, now in here.items():
        cells = []
        for i, rates in enumerate(others.values()):
            was = rates.get(key)
            cells += ["–" if was is None else f"{was:.2f}"] + ([f"{now:.2f}"] if i == 0 else [])
            cells.append("n/a" if was is None else f"{now - was:+.2f}")
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def regressions(here: dict[str, float], others: dict[str, dict[str, float]]) -> list[str]:
    lines = []
    for label, rates in others.items():
        fell = [f"{k} {here[k] - rates[k]:+.2f}" for k in here if k in rates and here[k] < rates[k]]
        lines.append(
            f"- Lower than {label}: " + ", ".join(fell) if fell else f"- No bucket is lower than {label}."
        )
    return lines


def cell(value: object) -> str:
    if value is None:
        return "–"  # not in that revision
    if isinstance(value, float):
        return f"{value:.4g}"
    text = json.dumps(value) if isinstance(value, list | dict) else str(value)
    return text.replace("|", "\\|")


def dvc_diff(kind: str, base: str) -> tuple[str, int]:
    """`dvc params|metrics diff BASE` as a markdown table without timing rows, and its row count."""
    result = subprocess.run(["dvc", kind, "diff", base, "--json"], capture_output=True, text=True)
    if result.returncode != 0:
        return f"`dvc {kind} diff {base}` failed: {result.stderr.strip()}", 0
    rows = [
        f"| {path} | {key} | {cell(d.get('old'))} | {cell(d.get('new'))} |"
        + (f" {cell(d.get('diff'))} |" if kind == "metrics" else "")
        for path, changed in sorted(json.loads(result.stdout or "{}").items())
        for key, d in sorted(changed.items())
        if not TIMING.search(key)
    ]
    header = f"| file | {kind[:-1]} | {base} | this |" + (" change |" if kind == "metrics" else "")
    rule = "|---|---|---:|---:|" + ("---:|" if kind == "metrics" else "")
    return ("\n".join([header, rule, *rows]) if rows else "No changes."), len(rows)


def charts(revs: list[str], out: Path) -> tuple[str, str, int]:
    """Markdown images of the main plots, of the per-metric curves, and how many those are."""
    try:
        drawn = plots.render_all(revs, out, labels={"workspace": "this"})
    except UserError as e:
        return f"The charts could not be drawn: {e}", "", 0
    shown = [f"![{p.title}]({p.file})" for p in drawn if p.file and p.primary]
    more = [f"![{p.title}]({p.file})" for p in drawn if p.file and not p.primary]
    return "\n".join(shown) or "No plots.", "\n".join(more), len(more)


def main(base: str, out: Path, full_report_url: str | None = None) -> str:
    here = json.loads(at_revision(EVALUATE, None) or "null")
    if here is None:
        raise UserError(f"{EVALUATE} is missing: run `dvc repro` first")
    release = last_release()
    others = {base: pass_rates(json.loads(at_revision(EVALUATE, base) or "null"))}
    if release:
        others[release] = pass_rates(json.loads(at_revision(EVALUATE, release) or "null"))
    gate = here.get("gate", {"passed": False, "reasons": ["no gate verdict in the metrics"]})
    versus = f"`{base}`" + (f" and the last release `{release}`" if release else " (no release yet)")
    summary = [
        f"# Fine-tuning report: this branch vs {versus}",
        "",
        f"**Gate: {'PASSED' if gate['passed'] else 'FAILED'}**",
    ]
    summary += [f"- {r}" for r in gate["reasons"]] + [""] + regressions(pass_rates(here), others)
    out.mkdir(parents=True, exist_ok=True)
    images, more, n_more = charts([base] + ([release] if release else []), out)
    params, n_params = dvc_diff("params", base)
    metrics, n_metrics = dvc_diff("metrics", base)
    sections = [
        Section("", "\n".join(summary)),
        Section("Pass rate of the fine-tuned model", bucket_table(pass_rates(here), others)),
        Section("Charts", images),
        Section(f"Params diff vs {base} ({n_params} changed)", params, folded=True),
        Section(f"Metrics diff vs {base} ({n_metrics} changed, timings left out)", metrics, folded=True),
    ]
    if more:
        sections.insert(3, Section(f"Every training curve ({n_more})", more, folded=True))
    full = "\n\n".join(s.body if not s.title else f"## {s.title}\n\n{s.body}" for s in sections) + "\n"
    (out / "report-full.md").write_text(full, encoding="utf-8")
    report = fit(sections, full_report_url or "report-full.md") + "\n"
    (out / "report.md").write_text(report, encoding="utf-8")
    return report


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, like every other mistake this command reports
        self.exit(2, f"compare: {message}\n")


if __name__ == "__main__":
    parser = Parser(
        description="Build the pull-request report: this run vs a base revision and the last release."
    )
    parser.add_argument("--base", default="main", help="git revision to compare with (the PR's base branch)")
    parser.add_argument("--out", type=Path, default=Path("reports/compare"))
    parser.add_argument(
        "--full-report-url", help="where CI keeps the full report (default: report-full.md next to it)"
    )
    args = parser.parse_args()
    with reported("compare"):
        main(checked_revision(args.base), args.out, args.full_report_url)
    print(f"compare: wrote {args.out / 'report.md'}")
