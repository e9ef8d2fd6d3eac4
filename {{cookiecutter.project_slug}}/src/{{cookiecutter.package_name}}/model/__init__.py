"""The base model's side: the embedded tiny model and its chat template, GGUF import, which
tokens carry the loss for a chat template, the merge probe, and 4-bit loading."""
