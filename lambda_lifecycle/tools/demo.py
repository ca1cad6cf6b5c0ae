"""``lambda-lifecycle demo``: one environment walked through the lifecycle, live.

A small in-process function (a runtime that counts its invocations in a module global) and one
external extension subscribed to INVOKE and SHUTDOWN go through a cold start, a warm invoke, a
timeout that resets the environment while the extension is still busy with that INVOKE (it
still gets its SHUTDOWN, as the answer to its next ``next``, and finishes inside the budget),
the suppressed init of the next invoke, and a spin-down. Every transition of the spec's machine
is printed under its step as it happens, with the spec row that allowed it, then the CloudWatch
lines Lambda would write (``|``), then what the caller and the extension received; the tour
ends with its walk checked against the spec. It runs in real time, in about three seconds with
the default one-second timeout.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

import anyio

from ..core.config import FunctionConfig
from ..core.walk import Step, walk_violations
from ..engine.clients import ExtensionClient, RuntimeClient
from ..engine.environment import Environment
from ..engine.inprocess import InProcessExtension, InProcessRuntime
from ..engine.observe import LifecycleEvent
from ..engine.pool import Function, PoolEvent
from ..sinks import attach_log_sink
from ..specs import load_spec


def configure_demo(parser: argparse.ArgumentParser) -> None:
    """The demo's options."""
    parser.add_argument(
        "--timeout",
        type=float,
        default=1.0,
        help="the function timeout in seconds (default 1; the slow invoke sleeps 1.5x that)",
    )
    parser.add_argument(
        "--pictures",
        type=Path,
        metavar="FILE.html",
        help="also draw the run (a sequence diagram and a timeline of phases) into FILE.html",
    )


def run_demo(args: argparse.Namespace) -> int:
    """Run the tour and print it to stdout."""
    log_lines: list[str] = []
    anyio.run(tour, args.timeout, sys.stdout, log_lines)
    if args.pictures is not None:
        from ..check.pictures import to_html  # noqa: PLC0415 (only with --pictures)
        from ..check.sources import read_input  # noqa: PLC0415
        from ..check.timeline import TraceBuilder  # noqa: PLC0415

        with tempfile.TemporaryDirectory() as tmp:
            log = Path(tmp) / "demo.jsonl"
            log.write_text("".join(line + "\n" for line in log_lines), encoding="utf-8")
            builder = TraceBuilder()
            for seen in read_input(str(log), lambda _: None):
                builder.feed(seen)
        args.pictures.write_text(to_html(builder.build(())), encoding="utf-8")
        print(f"\nthe pictures of the run: {args.pictures}")
    return 0


async def tour(function_timeout: float, out: TextIO, written: list[str] | None = None) -> None:
    """Walk one environment through the lifecycle, then several at once, printing every step
    to ``out``; ``written`` receives every CloudWatch line of the run."""
    received: list[dict[str, Any]] = []
    slow: list[bool] = []  # the next INVOKE keeps the extension busy past the timeout

    async def runtime(client: RuntimeClient) -> None:
        count = 0  # a module global: survives warm invokes, not a Reset
        while True:
            event = await client.next()
            count += 1
            if event.json().get("sleep"):
                await anyio.sleep(function_timeout * 1.5)
            client.respond(event.request_id, json.dumps({"count": count}).encode())

    async def extension(client: ExtensionClient) -> None:
        client.register(["INVOKE", "SHUTDOWN"])
        busy = False
        while True:
            event = await client.next()
            received.append({**event, "busy": busy})
            if event["eventType"] == "SHUTDOWN":
                await anyio.sleep(0.1)  # flush what it holds, inside the budget
                return
            busy = bool(slow)  # still working on this INVOKE when the Reset begins
            if busy:
                slow.clear()
                await anyio.sleep(function_timeout * 1.2)

    config = FunctionConfig(
        function_name="demo",
        timeout=max(1.0, function_timeout),
        runtime_version="python:3.13.v14",
    )
    env = Environment(
        InProcessRuntime(runtime), [InProcessExtension(extension, "telemetry-ext")], config
    )
    log_lines: list[str] = []

    attach_log_sink(env, log_lines.append)  # the CloudWatch lines, as Lambda writes them
    if written is not None:  # and as JSON records, with their times, for the pictures
        attach_log_sink(env, written.append, log_format="json")
    async with env:
        subscription = env.subscribe()
        start = env.clock.now()
        steps = [
            ("cold start", {}),
            ("warm invoke", {}),
            ("handler sleeps past the timeout", {"sleep": True}),
            ("after the reset: suppressed init", {}),
        ]
        print(LEGEND, file=out)
        walked: list[LifecycleEvent] = []
        for title, payload in steps:
            print(f"\n== {title}: invoke {json.dumps(payload)}", file=out)
            if payload:
                slow.append(True)
            result = await env.invoke(payload)
            report = await result.report()
            events = subscription.drain()
            walked += events
            _print_transitions(events, start, out)
            _print_log(log_lines, out)
            print(f"   caller got {result.body.decode()}", file=out)
            extra = (
                f", Init Duration {report.init_duration_ms:.2f} ms"
                if report.init_duration_ms
                else ""
            )
            print(
                f"   Duration {report.duration_ms:.2f} ms, Billed {report.billed_duration_ms} ms"
                f"{extra}{', suppressed init' if report.suppressed_init else ''}",
                file=out,
            )
        print("\n== spin-down", file=out)
        await env.shutdown()
        events = subscription.drain()
        walked += events
        _print_transitions(events, start, out)
        _print_log(log_lines, out)
        subscription.close()
    print("\nthe extension received:", file=out)
    for event in received:
        detail = event.get("shutdownReason") or event.get("requestId")
        busy = event["eventType"] == "SHUTDOWN" and event["busy"]
        note = " (the answer to its next call: it was still busy with INVOKE)" if busy else ""
        print(f"   {event['eventType']:<9} {detail}{note}", file=out)
    print(f"\n{_check_walk(walked)}", file=out)
    await _concurrent(out)


async def _concurrent(out: TextIO) -> None:
    """Three callers at once, twice: three cold starts in three environments, then three warm
    invocations reusing them; leaving the pool spins all three down."""
    print("\n== concurrent invokes: 3 callers at once, twice (a pool of environments)", file=out)

    async def runtime(client: RuntimeClient) -> None:
        while True:
            event = await client.next()
            await anyio.sleep(0.2)  # busy long enough for the others to need environments
            client.respond(event.request_id, b"{}")

    def make(config: FunctionConfig) -> Environment:
        return Environment(InProcessRuntime(runtime), config=config)

    names: dict[str, str] = {}

    def show(event: PoolEvent) -> None:
        name = names.setdefault(event.environment_id, f"env-{len(names) + 1}")
        if event.type == "invocation_routed":
            print(f"   {name}: {'cold start' if event.cold else 'warm (reused)'}", file=out)
        elif event.type == "environment_gone":
            print(f"   {name}: shut down (SHUTDOWN spindown)", file=out)

    config = FunctionConfig(function_name="demo", timeout=3)
    async with Function(make, config, reserved_concurrency=3) as function:
        function.listen(show)
        for round_ in ("first", "second"):
            print(f"   -- {round_} round", file=out)
            async with anyio.create_task_group() as tg:
                for _ in range(3):
                    tg.start_soon(function.invoke, b"{}")
            await anyio.sleep(0.2)  # every environment frozen again
        print(f"   {function.started} environments served 6 invocations", file=out)
        print("   -- spin-down", file=out)


LEGEND = (
    "legend: +seconds  from -> to  spec event  (spec row)   | CloudWatch line   "
    "caller got: the invoke's answer"
)


def _check_walk(events: list[LifecycleEvent]) -> str:
    """The tour's transitions checked against the spec: a walk from its initial state."""
    steps = [Step.of(e.data) for e in events if e.type == "transition"]
    problems = walk_violations(load_spec(), steps, end="Shutdown")
    if problems:
        return "walk NOT legal: " + "; ".join(problems)
    return (
        f"walk checked against specs/lifecycle.json: {len(steps)} transitions, "
        f"{len({s.row for s in steps})} distinct rows, every one legal, ending in Shutdown"
    )


def _print_log(lines: list[str], out: TextIO) -> None:
    for line in lines:
        for part in line.split("\n"):
            print(f"   | {part.expandtabs(2)}", file=out)
    lines.clear()


def _print_transitions(events: list[LifecycleEvent], start: float, out: TextIO) -> None:
    for item in events:
        if item.type == "transition":
            data = item.data
            print(
                f"   +{item.time - start:7.3f}s  {data['from_state']:>13} -> {data['to_state']:<13}"
                f" {data['event']:<16} (spec row {data['transition']})",
                file=out,
            )
