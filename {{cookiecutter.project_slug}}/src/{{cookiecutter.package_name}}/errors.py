"""The one error base class for mistakes a person can fix, and how a command reports them.

A stage or command raises `UserError` (or a subclass) with a message that names the file, line,
field or key and what was expected; its `__main__` runs inside `reported(name)`, which prints
`name: message` as one line and exits 1, with no traceback. So does a full disk or quota
(ENOSPC, EDQUOT), naming the path, wherever it happens. Anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import contextlib
import errno
import sys
from collections.abc import Iterator


class UserError(Exception):
    """Bad input, params or state that the person running the command can fix."""


@contextlib.contextmanager
def reported(name: str) -> Iterator[None]:
    try:
        yield
    except UserError as e:
        print(f"{name}: {e}", file=sys.stderr)
        raise SystemExit(1) from None
    except OSError as e:
        if e.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        where = e.filename or "a file"
        print(
            f"{name}: {where}: cannot be written, no space left on its device ({e.strerror})", file=sys.stderr
        )
        raise SystemExit(1) from None
