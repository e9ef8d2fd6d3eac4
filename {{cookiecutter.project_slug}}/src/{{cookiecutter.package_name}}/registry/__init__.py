"""What a release writes and checks: the audit log, the cards, the monitoring spec, the outputs' hashes."""
