"""What logs and telemetry cost a warm invoke: throughput with sinks against the same run without.

Run: ``python -m benchmarks.logging_cost``.

Every run is the warm-invoke benchmark's environment (one in-process runtime, two
INVOKE-subscribed extensions, sequential warm invokes), measured as the best of several rounds
(the rounds go round the runs):

- bare: nothing listening (no sink, structlog not configured);
- engine events only: one synchronous listener of every event type that does nothing, i.e.
  what the engine spends building and publishing all its lifecycle events (the sinks listen to
  fewer: one event per warm invocation);
- text sink: the CloudWatch text lines written to a file;
- telemetry: one in-process subscriber (default buffering, every stream) whose callback takes
  each batch's JSON body, as the HTTP front end does before sending it to an extension;
- text sink + telemetry: both, the case the floor applies to (ratio at or above 0.5);
- the same with a subscriber that reads every event (each batch decoded into objects), for an
  in-process subscriber that looks at what it gets.

The ratio is invokes/s with the sinks over invokes/s bare: 1.0 would be free.
"""

from __future__ import annotations

import argparse
import math
import platform
import tempfile
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio

from lambda_lifecycle import Environment, FunctionConfig, InProcessExtension, InProcessRuntime
from lambda_lifecycle.sinks import TelemetryBatch, attach_log_sink, subscribe_telemetry

from .warm_invoke import _extension, _runtime

FLOOR = 0.5


async def _forward(batch: TelemetryBatch) -> None:
    """What the HTTP front end does with a batch: take its JSON body (and send it)."""
    body = batch.json
    del body


async def _read(batch: TelemetryBatch) -> None:
    """What an in-process subscriber that looks at every event does: decode them."""
    for event in batch:
        del event


async def _text_sink(env: Environment, stack: AsyncExitStack, log: Path) -> None:
    stack.enter_context(attach_log_sink(env, log))


async def _telemetry(env: Environment, stack: AsyncExitStack, log: Path) -> None:
    await stack.enter_async_context(subscribe_telemetry(env, deliver=_forward))


async def _telemetry_read(env: Environment, stack: AsyncExitStack, log: Path) -> None:
    await stack.enter_async_context(subscribe_telemetry(env, deliver=_read))


async def _listener(env: Environment, stack: AsyncExitStack, log: Path) -> None:
    stack.callback(env._hub.listen(lambda event: None).close)


Setup = Callable[[Environment, AsyncExitStack, Path], Any]

RUNS: dict[str, tuple[Setup, ...]] = {
    "bare (nothing listening)": (),
    "engine events only (a no-op listener)": (_listener,),
    "text sink to a file": (_text_sink,),
    "telemetry subscriber": (_telemetry,),
    "text sink + telemetry subscriber": (_text_sink, _telemetry),
    "text sink + telemetry subscriber reading every event": (_text_sink, _telemetry_read),
}


async def run(invokes: int, setups: tuple[Setup, ...], log: Path) -> float:
    """Seconds for ``invokes`` warm invokes with the sinks of ``setups`` attached."""
    extensions = [InProcessExtension(_extension, f"ext{i}") for i in range(2)]
    env = Environment(InProcessRuntime(_runtime), extensions, FunctionConfig())
    async with AsyncExitStack() as stack:
        for setup in setups:
            await setup(env, stack, log)
        async with env:
            for _ in range(100):
                await env.invoke(b"{}")
            start = time.perf_counter()
            for _ in range(invokes):
                await env.invoke(b"{}")
            elapsed = time.perf_counter() - start
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invokes", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    n = args.invokes
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "function.log"
        # Rounds go round the runs, so that a machine that slows down for a while (another
        # process, a frequency change) weighs on every run alike; each keeps its best round.
        best = dict.fromkeys(RUNS, math.inf)
        for _ in range(args.rounds):
            for name, setups in RUNS.items():
                best[name] = min(best[name], anyio.run(run, n, setups, log))
    bare = best["bare (nothing listening)"]
    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, best of {args.rounds} rounds of {n} warm invokes"
    )
    print()
    print("| run | invokes/s | us per invoke | ratio to bare |")
    print("|---|---|---|---|")
    for name, seconds in best.items():
        print(f"| {name} | {n / seconds:,.0f} | {seconds / n * 1e6:.1f} | {bare / seconds:.2f} |")
    ratio = bare / best["text sink + telemetry subscriber"]
    verdict = "at or above" if ratio >= FLOOR else "BELOW"
    print()
    print(f"text sink + telemetry: ratio {ratio:.2f}, {verdict} the floor of {FLOOR}")


if __name__ == "__main__":
    main()
