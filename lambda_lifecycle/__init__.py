"""lambda-lifecycle: an executable model of the AWS Lambda execution environment lifecycle.

Layers, lowest first (a lower layer never imports a higher one):

- ``lambda_lifecycle.specs``: the formal model as data (``lifecycle.json``).
- ``lambda_lifecycle.core``: the pure core built from it (machine, deadlines, bookkeeping).
- ``lambda_lifecycle.engine``: the anyio scheduler that runs environments.
- ``lambda_lifecycle.tools``: diagrams and the command line.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lambda-lifecycle")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
