"""``python -m lambda_lifecycle``: the ``lambda-lifecycle`` command line (see :mod:`.tools.cli`)."""

from __future__ import annotations

from .tools.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
