"""What ``serve`` does before its first response: it listens first, and imports only what it uses.

Each probe runs in a new interpreter, where nothing of the package is imported yet, and reports
which modules are loaded at the moment that matters.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.fixtures.helpers import FIXTURES

# Replaces serve's second half (everything after the invoke socket is bound) with a probe that
# reports whether the socket listens and which of the heavy modules are loaded by then: not
# even the spec has been read.
LISTENS_FIRST = """
import json, socket, sys
import lambda_lifecycle.tools.serve as serve

def probe(args, invoke_socket, **rest):
    listening = invoke_socket.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
    heavy = ("anyio", "asyncio", "uvicorn", "structlog", "transitions", "lambda_lifecycle.engine",
             "lambda_lifecycle.server.http", "lambda_lifecycle.sinks", "lambda_lifecycle.specs",
             "lambda_lifecycle.core.spec", "importlib.resources")
    print(json.dumps({"listening": bool(listening),
                      "loaded": [m for m in heavy if m in sys.modules]}))
    return 0

serve._run_serve = probe
from lambda_lifecycle.tools.cli import main
raise SystemExit(main(["serve", "--port", "0", "--handler", "handlers.count",
                       "--task-root", sys.argv[1]]))
"""


def probe(code: str, *args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_serve_listens_before_it_imports_the_engine_the_server_or_the_event_loop() -> None:
    seen = probe(LISTENS_FIRST, str(FIXTURES / "functions"))
    assert seen == {"listening": True, "loaded": []}


def test_the_httptools_listener_imports_nothing_of_h11() -> None:
    code = (
        "import json, sys\n"
        "from lambda_lifecycle.server.http import Listener\n"
        "from lambda_lifecycle.server.sockets import bind\n"
        "async def app(scope, receive, send): pass\n"
        "listener = Listener(app, bind('127.0.0.1', 0))\n"
        "h11 = Listener(app, bind('127.0.0.1', 0), http='h11')\n"
        "print(json.dumps({'protocol': listener._protocol_class.__mro__[1].__module__,"
        " 'h11': 'h11' in sys.modules}))\n"
    )
    seen = probe(code)
    assert seen == {"protocol": "uvicorn.protocols.http.httptools_impl", "h11": True}
    without = probe(code.replace("h11 = Listener(app, bind('127.0.0.1', 0), http='h11')\n", ""))
    assert without["h11"] is False


def test_the_engine_imports_structlog_only_when_it_logs() -> None:
    code = (
        "import json, sys\n"
        "import lambda_lifecycle.engine.environment, lambda_lifecycle.server.emulator\n"
        "before = 'structlog' in sys.modules\n"
        "from lambda_lifecycle.engine.structured_log import configured, logger\n"
        "quiet = configured()\n"
        "import structlog\n"
        "structlog.configure(processors=[structlog.processors.JSONRenderer()],"
        " logger_factory=structlog.PrintLoggerFactory(sys.stderr))\n"
        "logger('lambda_lifecycle').warning('probe', n=1)\n"
        "print(json.dumps({'before': before, 'quiet': quiet, 'configured': configured()}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"before": False, "quiet": False, "configured": True}
    assert json.loads(done.stderr) == {"n": 1, "event": "probe"}
