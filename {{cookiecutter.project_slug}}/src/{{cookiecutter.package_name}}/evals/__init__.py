"""Judging answers: reading eval items, generating answers, checks, scores, the gate rules, the
model judge. How results are shown (charts, tables, the PR comment) is views/."""
