"""Check every section of params.yaml, naming the first bad key: `python -m PACKAGE.params [FILE]`;
`--doc` writes docs/params.md, every key with its default and help, from the dataclasses."""

import argparse
from pathlib import Path

from ..errors import reported
from .sections import load

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Check every section of params.yaml.")
    parser.add_argument("params", type=Path, nargs="?", default=Path("params.yaml"))
    parser.add_argument("--doc", type=Path, nargs="?", const=Path("docs/params.md"), help="write this page")
    args = parser.parse_args()
    if args.doc:
        from .doc import markdown

        args.doc.write_text(markdown(), encoding="utf-8")
        print(f"params: wrote {args.doc}")
    else:
        with reported("params"):
            load(args.params)
        print(f"params: {args.params} is valid")
