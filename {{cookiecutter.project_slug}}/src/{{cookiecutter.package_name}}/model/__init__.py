"""The embedded base model: a tiny Llama built offline, and its chat template."""
