"""Is this commit releasable? The checks release runs before it writes anything.

The working tree is committed; `dvc status` is clean: no stage's inputs changed since dvc.lock,
and every output in dvc.lock is in the workspace with the hash dvc.lock names; the gate in
metrics/evaluate.json passed; and what `release:` in params.yaml asks for holds: a minimum
consistency of sampled golden answers, and a human review of *this* model's answers
(metrics/review.json made from the current reports/evaluate/predictions.jsonl) or an explicit
`--signed-off-by`.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from ..data import jsonl
from ..errors import UserError
from ..lineage import git
from ..params import release as params_mod
from . import workspace

PREDICTIONS = Path("reports/evaluate/predictions.jsonl")
REVIEW = Path("metrics/review.json")


class ReleaseError(UserError):
    """A release that must not happen yet; the message says what to do first."""


def read_json(path: Path) -> dict | None:
    return jsonl.read_json(path) if path.exists() else None


def check_tree() -> None:
    if git("status", "--porcelain"):
        raise ReleaseError(
            "the working tree has uncommitted changes; commit them (code, params, dvc.lock) first"
        )
    status = workspace.dvc_status()
    if workspace.inputs_changed(status):
        detail = subprocess.run(["dvc", "status"], capture_output=True, text=True)
        raise ReleaseError(
            "`dvc status` is not clean: run `dvc repro` and commit dvc.lock first\n"
            + (detail.stdout + detail.stderr).strip()
        )
    wrong = workspace.mismatches(status)
    if wrong:
        raise ReleaseError("the workspace does not hold the outputs dvc.lock names:\n" + "\n".join(wrong))


def gate_verdict(p: params_mod.ReleaseParams) -> dict:
    evaluate = read_json(Path("metrics/evaluate.json"))
    if evaluate is None:
        raise ReleaseError("metrics/evaluate.json is missing: run `dvc repro` first")
    gate = evaluate.get("gate", {})
    if not gate.get("passed"):
        raise ReleaseError("the gate failed: " + "; ".join(gate.get("reasons", ["no verdict"])))
    if p.min_consistency > 0:
        agreement = evaluate["finetuned"].get("golden", {}).get("consistency", {}).get("agreement")
        if agreement is None or agreement < p.min_consistency:
            raise ReleaseError(
                f"golden consistency {agreement} is below release.min_consistency={p.min_consistency} "
                "(or was not measured: evaluate.consistency.samples)"
            )
    return evaluate


def predictions_sha256(path: Path = PREDICTIONS) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def signoff(p: params_mod.ReleaseParams, signed_off_by: str | None) -> dict | None:
    """The review this release rests on, or None; refuses when one is required and missing."""
    review = read_json(REVIEW)
    current = review is not None and review["sheet"]["predictions_sha256"] == predictions_sha256()
    if current and review["ab"]["votes"] > 0:
        if review["ab"]["win_rate"] < p.min_review_win_rate:
            raise ReleaseError(
                f"reviewers preferred the fine-tuned model in {review['ab']['win_rate']:.2f} of A/B "
                f"verdicts, below release.min_review_win_rate={p.min_review_win_rate}"
            )
        return {
            "source": "review",
            "reviewers": review["reviewers"],
            "ab": {k: review["ab"][k] for k in ("votes", "win_rate", "coverage")},
            "agreement": review.get("agreement"),
            "signed_off_by": signed_off_by,
        }
    if signed_off_by:
        return {"source": "flag", "signed_off_by": signed_off_by}
    if p.require_review:
        why = "is of another model's answers" if review is not None else "is missing"
        raise ReleaseError(
            f"release.require_review is true and {REVIEW} {why}: run `make review` on this model's "
            "predictions and `make review-done`, or pass --signed-off-by NAME"
        )
    return None
