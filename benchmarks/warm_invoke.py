"""Warm-invoke throughput of the engine against a bare anyio baseline, and idle memory.

Run: ``python -m benchmarks.warm_invoke`` (see the README for the figures and the machine).

- engine: one in-process runtime and two INVOKE-subscribed extensions, sequential invokes on a
  warm environment, nothing listening (no subscriber, structlog not configured).
- baseline: the same hand-offs with bare anyio Events and no state machine, no bookkeeping, no
  logging: a platform task gives the event to the runtime and both extensions and waits until all
  three have called next.
- memory: 10,000 frozen environments alive at once (one in-process runtime each), measured with
  tracemalloc (Python allocations) and as the growth of the process's resident set.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import platform
import resource
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import anyio
import anyio.lowlevel

from lambda_lifecycle import Environment, FunctionConfig, InProcessExtension, InProcessRuntime
from lambda_lifecycle.engine.clients import ExtensionClient, RuntimeClient


async def _runtime(client: RuntimeClient) -> None:
    while True:
        event = await client.next()
        client.respond(event.request_id, b"{}")


async def _extension(client: ExtensionClient) -> None:
    client.register(["INVOKE"])
    while True:
        await client.next()


async def engine_run(invokes: int) -> float:
    """Seconds for ``invokes`` warm invokes through the engine."""
    extensions = [InProcessExtension(_extension, f"ext{i}") for i in range(2)]
    async with Environment(InProcessRuntime(_runtime), extensions, FunctionConfig()) as env:
        for _ in range(100):
            await env.invoke(b"{}")
        start = time.perf_counter()
        for _ in range(invokes):
            await env.invoke(b"{}")
        return time.perf_counter() - start


async def baseline_run(invokes: int) -> float:
    """Seconds for ``invokes`` hand-offs with bare anyio Events."""
    state: dict[str, Any] = {}

    class Party:
        def __init__(self) -> None:
            self.event = anyio.Event()
            self.payload: bytes | None = None

    parties = [Party() for _ in range(3)]
    done = {"count": 0, "event": anyio.Event()}

    def arrive() -> None:
        done["count"] += 1
        if done["count"] == 3:
            done["event"].set()

    async def party(p: Party, answers: bool) -> None:
        while True:
            await p.event.wait()
            p.event = anyio.Event()
            if answers:
                state["response"] = b"{}"
            arrive()

    async with anyio.create_task_group() as tg:
        for i, p in enumerate(parties):
            tg.start_soon(party, p, i == 0)
        await anyio.lowlevel.checkpoint()
        start = time.perf_counter()
        for _ in range(invokes):
            done["count"] = 0
            done["event"] = anyio.Event()
            for p in parties:
                p.payload = b"{}"
                p.event.set()
            await done["event"].wait()
        elapsed = time.perf_counter() - start
        tg.cancel_scope.cancel()
    return elapsed


async def _frozen_environments(count: int, measure: Callable[[], float]) -> float:
    """Growth of ``measure()`` per environment with ``count`` frozen environments alive."""
    gc.collect()
    before = measure()
    async with contextlib.AsyncExitStack() as stack:
        envs = []
        for _ in range(count):
            env = await stack.enter_async_context(Environment(InProcessRuntime(_runtime)))
            await env.invoke(b"{}")
            envs.append(env)
        assert all(e.state == "Frozen" for e in envs)
        gc.collect()
        return (measure() - before) / count


def _traced_kib() -> float:
    return tracemalloc.get_traced_memory()[0] / 1024


async def memory_run(count: int) -> tuple[float, float]:
    """KiB per frozen environment: (Python allocations, resident set growth), measured in two
    separate runs so that tracemalloc's own bookkeeping does not inflate the resident set."""
    rss = await _frozen_environments(count, _rss_kib)
    tracemalloc.start()
    try:
        traced = await _frozen_environments(count, _traced_kib)
    finally:
        tracemalloc.stop()
    return traced, rss


def _rss_kib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return float(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invokes", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--environments", type=int, default=10_000)
    args = parser.parse_args()

    engine = min(anyio.run(engine_run, args.invokes) for _ in range(args.rounds))
    baseline = min(anyio.run(baseline_run, args.invokes) for _ in range(args.rounds))
    traced_kib, rss_kib = anyio.run(memory_run, args.environments)
    n = args.invokes
    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, best of {args.rounds} rounds of {n} invokes"
    )
    print()
    print("| run | invokes/s | us per invoke |")
    print("|---|---|---|")
    print(f"| engine (runtime + 2 extensions) | {n / engine:,.0f} | {engine / n * 1e6:.1f} |")
    print(f"| bare anyio baseline | {n / baseline:,.0f} | {baseline / n * 1e6:.1f} |")
    print(f"| ratio engine / baseline (time) | {engine / baseline:.2f}x | |")
    print()
    print(f"| {args.environments:,} frozen environments | KiB each |")
    print("|---|---|")
    print(f"| Python allocations (tracemalloc) | {traced_kib:.1f} |")
    print(f"| resident set growth | {rss_kib:.1f} |")


if __name__ == "__main__":
    main()
