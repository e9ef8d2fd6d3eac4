"""The fine-tuning pipeline, one module per DVC stage (see dvc.yaml and its stages)."""
