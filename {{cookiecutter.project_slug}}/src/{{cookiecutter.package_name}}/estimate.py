"""Will it fit? Memory and compute per training method, before spending money (training/budget.py).

python -m PACKAGE.estimate --params-count 7e9 --trainable-share 0.005 --tokens 2e7
python -m PACKAGE.estimate --table      # full vs LoRA vs QLoRA for 0.5, 1, 3 and 8B models
"""

from __future__ import annotations

import argparse

from .training.budget import decision_table, markdown, table

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Memory and compute estimates per training method.")
    parser.add_argument("--table", action="store_true", help="the comparison table of docs/decide.md")
    parser.add_argument("--params-count", type=float, help="base model parameters, e.g. 7e9")
    parser.add_argument("--trainable-share", type=float, default=0.005, help="LoRA share of trainable params")
    parser.add_argument("--tokens", type=float, help="training tokens per epoch")
    parser.add_argument("--epochs", type=float, default=1.0)
    args = parser.parse_args()
    if args.table:
        print(decision_table())
    elif args.params_count is None or args.tokens is None:
        parser.error("--params-count and --tokens are needed (or --table)")
    else:
        print(markdown(table(int(args.params_count), args.trainable_share, int(args.tokens), args.epochs)))
