"""What the train stage is built from: library configs with the stage's settings (configs), DPO
after SFT (dpo), dvclive curves (curves), checkpoints and resumed totals (resume)."""
