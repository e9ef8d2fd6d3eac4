"""The fine-tuning pipeline: read this package like dvc.yaml.

Stages, one module each, in pipeline order (`python -m PACKAGE.<stage>`):
    base           build, convert (GGUF) or resolve the base model and record which one it is
    curate         validate, convert, normalise, PII-scan and de-duplicate raw conversations
    split          deterministic, stratified, group-aware train/val/test split
    decontaminate  remove training rows that overlap the test, golden or benchmark sets
    replay         the base model's own answers to general prompts, mixed into training
    train          TRL SFT (LoRA, QLoRA or full), then DPO on preference pairs; the checkpoint
                   with the best val pass rate is kept, and training stops when it stops improving
    merge          fold the adapter into the base and verify the merge
    baseline       the base model answers every eval set, zero-shot and few-shot prompted
    generate       the fine-tuned model answers the same sets
    evaluate       judge both models' answers per bucket and risk tier; the gate verdict
    cost           training cost, serving cost per 1k requests, break-even against a prompted base

Commands around the pipeline:
    gate           exit non-zero when the golden gate fails (what CI calls)
    compare        the pull-request report against the base branch and the last release
    plots          every dvc.yaml plot as SVG, and DVC's interactive page made to work offline
    release        checks, lineage record, cards, audit entry and registry tag for a version
    rollback       restore a released version (files, data, stage) in a new commit
    review         blind human review: export the sheet, serve it, aggregate the verdicts
    feedback       production feedback to golden candidates and pairs; monitoring alarms
    estimate       memory and compute per training method, before spending money
    demo_data      the generated demo dataset (standard library only), with its cards in
                   demo_cards and the tool-calling bucket in demo_tools

Shared by them:
    params/        params.yaml: loader (the one strict reader), one module of typed dataclasses
                   per section, which is all a stage loads; sections (the whole file, checked
                   by `python -m PACKAGE.params`, make check and CI); library (sections a
                   library owns: trl, peft, transformers configs built and checked)
    lineage        base model identity, train_info.json, dvc.lock hashes, Git
    errors         UserError and `reported(name)`: one line, no traceback, for mistakes
    progress       done/total, elapsed and ETA log lines for long steps
    threads        torch's CPU threads chosen from the model's size (OMP_NUM_THREADS wins)
    chatter        library warnings and logging to logs/<stage>.log, progress bars off
    data/          rows: jsonl, sources (every input file kind), chat (the conversation
                   contract), formats, records, filters and dedup (curate's per-record
                   steps), pii, neardup, ngrams, wordhash, texts (what decontamination
                   compares, and normalize_answer), contamination (the eval-side index
                   decontaminate matches against), coverage
    evals/         judging answers: checks, scoring, gating, modeljudge; items (read eval
                   items, reject bad lines), generation (answer and judge), fewshot (the
                   prompted baseline), general (general-skill probes), toolcalls (find and judge
                   tool calls)
    views/         showing results: tables (evaluate's report and plot rows), charts (DVC's
                   plot specs to SVG), comment (a report that fits one PR comment)
    model/         the base model's side: the embedded tiny model and its chat template,
                   gguf (import), loss_paths (answer-only loss for any chat template),
                   probe (predictions merge must reproduce), quantization (bitsandbytes)
    training/      what train is built from: configs, dpo, curves, resume; budget (the
                   memory and compute estimate behind train and `estimate`)
    registry/      what a release writes and checks: audit, cards, monitoring, readiness
                   (gate_verdict, check_tree, signoff), workspace (outputs vs dvc.lock)
    human/         human review: sheet, page.html, server, agreement

Layers point down: stages and commands -> helpers (the subpackages) -> params/, lineage,
errors, progress. A stage never imports another stage: facts travel between stages as files;
a helper never imports a stage or a command, and data/ never imports evals/ (tests/test_contracts.py).
"""
