"""Judging answers and reporting results: checks, scores, the gate rules, reports and plots."""
