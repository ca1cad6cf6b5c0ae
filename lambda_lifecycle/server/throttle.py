"""The invoke endpoint's answer to a throttled invocation: 429 as Lambda gives it.

When a function has as many environments busy as its concurrency allows, Lambda refuses the
invocation before any environment sees it: status 429, header ``X-Amzn-ErrorType:
TooManyRequestsException`` (which the AWS SDKs turn into their ``TooManyRequestsException``, boto3's
``Lambda.Client.exceptions.TooManyRequestsException``) and a JSON body with ``Reason``, ``Type``
and ``message`` (``Rate Exceeded.``), plus the project's ``errorMessage`` and ``errorType``.
"""

from __future__ import annotations

from ..core.errors import TooManyRequestsException
from .http import Send, json_bytes, respond

ERROR_TYPE_HEADER = b"x-amzn-errortype"


async def respond_throttled(send: Send, exc: TooManyRequestsException) -> None:
    """Send the 429 answer of ``exc``."""
    headers = [(ERROR_TYPE_HEADER, exc.error_type.encode())]
    await respond(send, exc.status, json_bytes(exc.body()), headers=headers)
