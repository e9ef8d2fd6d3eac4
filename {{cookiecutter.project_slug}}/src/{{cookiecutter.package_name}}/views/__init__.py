"""Showing results: charts (DVC plots as SVG), tables (evaluate's report), comment (one PR comment)."""
