"""The error payloads a caller receives, worded exactly as AWS words them.

These are the bodies recorded against real AWS (``errorType`` and ``errorMessage``); the engine
only picks which one applies. Keeping the wording in one module is what makes a test against the
recorded strings meaningful.
"""

from __future__ import annotations

from typing import Any

MAX_RESPONSE_BYTES = 6_291_556
"""The synchronous response limit enforced by the platform (6 MiB + 100 bytes)."""


def error_body(
    error_type: str, message: str, stack_trace: list[str] | None = None
) -> dict[str, Any]:
    """An error payload in the shape the Runtime API and the invoke API use."""
    body: dict[str, Any] = {"errorMessage": message, "errorType": error_type}
    if stack_trace is not None:
        body["stackTrace"] = stack_trace
    return body


def timed_out(request_id: str, timeout_s: float) -> dict[str, Any]:
    """``Sandbox.Timedout``: the function did not finish within its timeout."""
    return error_body(
        "Sandbox.Timedout",
        f"RequestId: {request_id} Error: Task timed out after {timeout_s:.2f} seconds",
    )


def runtime_exited(request_id: str, exit_description: str | None) -> dict[str, Any]:
    """``Runtime.ExitError``: the runtime process ended while it owed an answer.

    ``exit_description`` is Go's wording of the exit (``exit status 127``, ``signal: killed``),
    or None for a clean exit (status 0), which AWS reports as exiting without a reason.
    """
    if exit_description is None:
        message = f"RequestId: {request_id} Error: Runtime exited without providing a reason"
    else:
        message = f"RequestId: {request_id} Error: Runtime exited with error: {exit_description}"
    return error_body("Runtime.ExitError", message)


def extension_crashed(request_id: str, name: str, exit_description: str | None) -> dict[str, Any]:
    """``Extension.Crash``: an extension ended or reported a fatal error.

    AWS's recorded payload carries the error type; the message wording here is this project's.
    """
    how = f"exited with error: {exit_description}" if exit_description else "exited"
    return error_body("Extension.Crash", f"RequestId: {request_id} Error: extension {name} {how}")


def response_too_large(size: int | None = None) -> dict[str, Any]:
    """``Function.ResponseSizeTooLarge``: the runtime's response was over the limit."""
    del size  # AWS names the limit, not the size that was sent
    return error_body(
        "Function.ResponseSizeTooLarge",
        "Response payload size exceeded maximum allowed payload size "
        f"({MAX_RESPONSE_BYTES} bytes).",
    )


def describe_exit(code: int | None, signal_name: str | None) -> str | None:
    """Go's wording of a process exit, as AWS prints it; None for a clean exit."""
    if signal_name is not None:
        return f"signal: {signal_name}"
    if code:
        return f"exit status {code}"
    return None
