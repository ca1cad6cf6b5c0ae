"""Scriptable in-process participants for engine tests, and constants the sink tests share."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio

from lambda_lifecycle.engine.clients import ExtensionClient, RuntimeClient, RuntimeEvent
from lambda_lifecycle.engine.inprocess import InProcessExtension, InProcessRuntime

TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
VERSION = "python:3.13.v14"
ARN = "arn:aws:lambda:us-east-1::runtime:" + hashlib.sha256(VERSION.encode()).hexdigest()

Handler = Callable[[RuntimeEvent, "EchoRuntime"], Awaitable[bytes | None]]


@dataclass
class EchoRuntime:
    """A runtime that counts invocations in a 'module global' reset by every (re-)init.

    ``init_hook`` runs before the first ``next`` of each generation (the function's static
    code); ``handler`` answers each invocation (default: echo the payload with the count).
    """

    handler: Handler | None = None
    init_hook: Callable[[int, RuntimeClient], Awaitable[None]] | None = None
    inits: int = 0
    counter: int = 0
    seen: list[str] = field(default_factory=list)
    sigterms: int = 0
    ignore_sigterm: bool = False

    def participant(self) -> InProcessRuntime:
        return InProcessRuntime(self.main)

    async def main(self, client: RuntimeClient) -> None:
        self.inits += 1
        self.counter = 0  # module globals start afresh in a new process
        if self.ignore_sigterm:
            client.on_sigterm(self._on_sigterm)
        if self.init_hook is not None:
            await self.init_hook(self.inits, client)
        while True:
            event = await client.next()
            self.counter += 1
            self.seen.append(event.request_id)
            body: bytes | None
            if self.handler is not None:
                body = await self.handler(event, self)
            else:
                body = b'{"count": %d, "echo": %s}' % (self.counter, event.payload or b"null")
            if body is not None:
                client.respond(event.request_id, body)

    def _on_sigterm(self) -> None:
        self.sigterms += 1


@dataclass
class RecordingExtension:
    """An extension that records every event it receives.

    ``work`` is how long it works on each INVOKE before calling next again; ``on_shutdown``
    is ``"next"`` (acknowledge by calling next), ``"exit"`` or ``"ignore"`` (hang).
    """

    name: str = "recorder"
    events: tuple[str, ...] = ("INVOKE", "SHUTDOWN")
    kind: str = "external"
    work: float = 0.0
    on_shutdown: str = "exit"
    received: list[dict[str, Any]] = field(default_factory=list)
    received_at: list[float] = field(default_factory=list)
    crash_on_invoke: bool = False
    starts: int = 0

    def participant(self) -> InProcessExtension:
        kind = "internal" if self.kind == "internal" else "external"
        return InProcessExtension(self.main, self.name, kind)

    async def main(self, client: ExtensionClient) -> None:
        self.starts += 1
        client.register(list(self.events))
        while True:
            event = await client.next()
            self.received.append(event)
            self.received_at.append(anyio.current_time())
            if event["eventType"] == "SHUTDOWN":
                if self.on_shutdown == "exit":
                    return
                if self.on_shutdown == "ignore":
                    await anyio.sleep_forever()
                continue
            if self.crash_on_invoke:
                raise RuntimeError("extension bug")
            if self.work:
                await anyio.sleep(self.work)

    def types(self) -> list[str]:
        return [e["eventType"] for e in self.received]


class GuardModel:
    """A bare model for the machine: a state and the spec's four guards as two flags."""

    def __init__(self, state: str = "Uninitialized", pending: bool = False, snapshot: bool = False):
        self.state = state
        self.pending = pending
        self.snapshot = snapshot

    @property
    def invoke_pending(self) -> bool:
        return self.pending

    @property
    def no_invoke_pending(self) -> bool:
        return not self.pending

    @property
    def snapshot_pending(self) -> bool:
        return self.snapshot

    @property
    def no_snapshot_pending(self) -> bool:
        return not self.snapshot
