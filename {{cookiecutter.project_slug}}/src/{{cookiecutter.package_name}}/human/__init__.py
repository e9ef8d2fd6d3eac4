"""Human review: the sample and the blind A/B sheet, the reviewer's page and server, the agreement."""
