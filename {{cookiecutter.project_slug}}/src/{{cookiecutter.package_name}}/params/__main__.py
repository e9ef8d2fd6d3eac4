"""Check every section of params.yaml, naming the first bad key: `python -m PACKAGE.params [FILE]`."""

import argparse
from pathlib import Path

from ..errors import reported
from .sections import load

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Check every section of params.yaml.")
    parser.add_argument("params", type=Path, nargs="?", default=Path("params.yaml"))
    args = parser.parse_args()
    with reported("params"):
        load(args.params)
    print(f"params: {args.params} is valid")
