"""Asynchronous invocations (``X-Amz-Invocation-Type: Event``): queued, run in turn, retried.

Lambda answers an ``Event`` invocation 202 at once and puts the event on a queue; the function
runs it later, in turn with the other invocations. When the invocation ends in a function error
or a timeout, Lambda runs it again: by default twice more, about one minute after the first
attempt and two minutes after the second. An event older than the maximum event age (six hours
by default) is not run again. Every attempt keeps the event's request id, as on Lambda.

:class:`AsyncInvoker` does that for the emulator. Each attempt, and the outcome, is written as
one line (to the emulator's log, see :class:`~.emulator.Emulator`)::

    ASYNC RequestId: <id> Attempt: 1 Status: error ErrorType: Sandbox.Timedout
    ASYNC RequestId: <id> Attempt: 2 Status: success
    ASYNC RequestId: <id> Outcome: Success Attempts: 2

with the outcomes ``Success``, ``RetriesExhausted`` and ``EventAgeExceeded``. With a
``destination`` path, each outcome is also appended there as one JSON line shaped like the record
Lambda sends to an on-success or on-failure destination (``version``, ``timestamp``,
``requestContext`` with ``condition`` and ``approximateInvokeCount``, ``requestPayload``,
``responseContext``, ``responsePayload``).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio

from ..core.errors import EnvironmentClosed, TooManyRequestsException
from ..engine.invocation import new_request_id

if TYPE_CHECKING:
    from ..engine.invocation import InvokeResult

DEFAULT_RETRIES = 2
"""How many times Lambda runs a failed asynchronous invocation again."""
DEFAULT_DELAYS = (60.0, 120.0)
"""Seconds before the first and the second retry (Lambda's: about one, then two minutes)."""
DEFAULT_MAX_AGE = 21_600.0
"""The maximum age of an event, in seconds (six hours, Lambda's default and maximum)."""

Spawn = Callable[[Callable[[], Coroutine[Any, Any, None]]], None]


@dataclass(frozen=True, slots=True)
class AsyncOptions:
    """How asynchronous invocations are retried.

    ``retries`` (0 to 2 on Lambda), ``delays`` the seconds before each retry (the last one
    repeats), ``max_age`` the seconds after which an event is not run again, ``destination`` a
    file where each outcome is appended as a JSON line.
    """

    retries: int = DEFAULT_RETRIES
    delays: Sequence[float] = DEFAULT_DELAYS
    max_age: float = DEFAULT_MAX_AGE
    destination: str | os.PathLike[str] | None = None

    def delay(self, retry: int) -> float:
        """Seconds before retry number ``retry`` (1 for the first)."""
        if not self.delays:
            return 0.0
        return float(self.delays[min(retry, len(self.delays)) - 1])


class AsyncInvoker:
    """Queues ``Event`` invocations and runs each, with its retries, in the background.

    ``invoke`` is the emulator's serialised invoke (each attempt waits its turn), ``spawn``
    starts a background task, ``log`` takes each ``ASYNC`` line, ``function_arn`` names the
    function in destination records.
    """

    def __init__(
        self,
        invoke: Callable[..., Awaitable[InvokeResult]],
        spawn: Spawn,
        log: Callable[[str], object],
        options: AsyncOptions | None = None,
        *,
        function_arn: str = "",
        version: str = "$LATEST",
    ) -> None:
        self._invoke = invoke
        self._spawn = spawn
        self._log = log
        self.options = options or AsyncOptions()
        self._arn = function_arn
        self._version = version

    def enqueue(self, payload: bytes, options: dict[str, Any]) -> str:
        """Queue an event; returns its request id (answered in ``X-Amzn-RequestId``)."""
        request_id = new_request_id()
        queued = anyio.current_time()

        async def run() -> None:
            with contextlib.suppress(EnvironmentClosed):
                await self._run(request_id, payload, options, queued)

        self._spawn(run)
        return request_id

    async def _run(
        self, request_id: str, payload: bytes, options: dict[str, Any], queued: float
    ) -> None:
        settings = self.options
        attempt = 0
        result: InvokeResult | None = None
        while True:
            attempt += 1
            try:
                result = await self._invoke(payload, request_id=request_id, **options)
            except TooManyRequestsException:  # every environment busy: retried as an error
                self._log(f"ASYNC RequestId: {request_id} Attempt: {attempt} Status: throttled")
            else:
                status = "success" if result.ok else "error"
                line = f"ASYNC RequestId: {request_id} Attempt: {attempt} Status: {status}"
                if not result.ok:
                    line += f" ErrorType: {result.error_type}"
                self._log(line)
            if result is not None and result.ok:
                self._outcome(request_id, "Success", attempt, payload, result)
                return
            if attempt > settings.retries:
                self._outcome(request_id, "RetriesExhausted", attempt, payload, result)
                return
            await anyio.sleep(settings.delay(attempt))
            if anyio.current_time() - queued > settings.max_age:
                self._outcome(request_id, "EventAgeExceeded", attempt, payload, result)
                return

    def _outcome(
        self,
        request_id: str,
        condition: str,
        attempts: int,
        payload: bytes,
        result: InvokeResult | None,
    ) -> None:
        self._log(f"ASYNC RequestId: {request_id} Outcome: {condition} Attempts: {attempts}")
        destination = self.options.destination
        if destination is None:
            return
        record = destination_record(
            request_id,
            condition,
            attempts,
            payload=payload,
            result=result,
            function_arn=self._arn,
            version=self._version,
        )
        with open(destination, "a", encoding="utf-8") as file:
            file.write(json.dumps(record, separators=(",", ":")) + "\n")


def destination_record(
    request_id: str,
    condition: str,
    attempts: int,
    *,
    payload: bytes,
    result: InvokeResult | None,
    function_arn: str,
    version: str,
) -> dict[str, Any]:
    """The record Lambda sends to an on-success or on-failure destination (``result`` None:
    every attempt was throttled, so there is no response)."""
    response: dict[str, Any] = {"statusCode": 200 if result is not None else 429}
    response["executedVersion"] = version
    if result is not None and result.function_error is not None:
        response["functionError"] = result.function_error
    now = datetime.datetime.now(datetime.UTC)
    return {
        "version": "1.0",
        "timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "requestPayload": _json_or_text(payload),
        "responseContext": response,
        "responsePayload": None if result is None else _json_or_text(result.body),
    }


def _json_or_text(data: bytes) -> Any:
    try:
        return json.loads(data) if data else None
    except ValueError:
        return data.decode("utf-8", errors="replace")
