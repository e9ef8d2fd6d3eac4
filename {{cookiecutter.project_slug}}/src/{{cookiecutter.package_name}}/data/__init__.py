"""Row-level data helpers: reading and writing JSONL, the conversation contract, formats, PII,
near-duplicates, n-grams and coverage. Pure Python and numpy: no torch."""
