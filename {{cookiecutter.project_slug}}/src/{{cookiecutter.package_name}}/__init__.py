"""The fine-tuning pipeline: read this package like dvc.yaml.

Stages, one module each, in pipeline order (`python -m PACKAGE.<stage>`):
    base           make the base model available and record which one it is
    curate         validate, convert, normalise, PII-scan and de-duplicate raw conversations
    split          deterministic, stratified, group-aware train/val/test split
    decontaminate  remove training rows that overlap the test, golden or benchmark sets
    train          TRL SFT (LoRA, QLoRA or full), then DPO on preference pairs
    merge          fold the adapter into the base and verify the merge
    evaluate       base and fine-tuned model on the same sets, per bucket and risk tier
    cost           training cost, serving cost per 1k requests, break-even against a prompted base

Commands around the pipeline:
    gate           exit non-zero when the golden gate fails (what CI calls)
    compare        the pull-request report against another revision
    release        checks, lineage record, cards, audit entry and registry tag for a version
    rollback       restore a released version (files, data, stage) in a new commit
    review         blind human review: export the sheet, serve it, aggregate the verdicts
    feedback       production feedback to golden candidates and pairs; monitoring alarms
    estimate       memory and compute per training method, before spending money
    demo_data      the generated demo dataset (standard library only), with its cards in
                   demo_cards and the tool-calling bucket in demo_tools

Shared by them:
    params         typed view of params.yaml, one dataclass per stage section
    lineage        base model identity, train_info.json, dvc.lock hashes, Git
    errors         UserError and `reported(name)`: one line, no traceback, for mistakes
    progress       done/total, elapsed and ETA log lines for long steps
    data/          rows: jsonl, chat (the conversation contract), formats, pii, neardup,
                   ngrams, wordhash, coverage
    evals/         judging answers: checks, scoring, gating, reports, modeljudge, svgplot
    registry/      what a release writes and checks: audit, cards, monitoring, readiness,
                   workspace (outputs vs dvc.lock)
    human/         human review: sheet, page.html, server, agreement
    model/         the embedded tiny base model and its chat template

A stage never imports another stage: facts travel between stages as files.
"""
