"""The fine-tuning pipeline: read this package like dvc.yaml.

Stages, one module each, in pipeline order (`python -m PACKAGE.<stage>`):
    base           build, convert (GGUF) or resolve the base model and record which one it is
    curate         validate, convert, normalise, PII-scan and de-duplicate raw conversations
    split          deterministic, stratified, group-aware train/val/test split
    decontaminate  remove training rows that overlap the test, golden or benchmark sets
    train          TRL SFT (LoRA, QLoRA or full), then DPO on preference pairs
    merge          fold the adapter into the base and verify the merge
    evaluate       base and fine-tuned model on the same sets, per bucket and risk tier

Commands around the pipeline:
    gate           exit non-zero when the golden gate fails (what CI calls)
    compare        the pull-request report against another revision
    release        gate, lineage record and registry tag for a model version
    estimate       memory and compute per training method, before spending money
    demo_data      the generated demo dataset (standard library only)

Shared by them:
    params         typed view of params.yaml, one dataclass per stage section
    lineage        base model identity, train_info.json, dvc.lock hashes, Git
    errors         UserError and `reported(name)`: one line, no traceback, for mistakes
    progress       done/total, elapsed and ETA log lines for long steps
    data/          rows: jsonl, chat (the conversation contract), formats, pii, neardup,
                   ngrams, wordhash, coverage
    evals/         judging answers: checks, scoring, gating, reports, modeljudge, svgplot
    model/         the base model's side: the embedded tiny model and its chat template,
                   gguf (import), loss_paths (answer-only loss for any chat template),
                   probe (predictions merge must reproduce), quantization (bitsandbytes)
    training/      what train is built from: configs, dpo, curves, resume

A stage never imports another stage: facts travel between stages as files.
"""
