"""The engine's pool with many in-process environments: memory each, and routing cost.

``python -m benchmarks.pool_engine [--environments N]`` (10,000 by default) invokes a function
N times at once with an in-process runtime that holds every invocation until all N have
arrived, so the pool grows to N environments (N cold starts). It reports the resident memory
that growth cost per environment (from ``/proc/self/statm``), the time the N cold starts took,
then the time of a warm invoke (routing included) with N frozen environments in the pool,
against the same warm invoke of a bare :class:`~lambda_lifecycle.engine.environment.Environment`.
"""

from __future__ import annotations

import argparse
import os
import time

import anyio

from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.engine.clients import RuntimeClient
from lambda_lifecycle.engine.environment import Environment
from lambda_lifecycle.engine.inprocess import InProcessRuntime
from lambda_lifecycle.engine.pool import Function

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


async def run(n: int, warm: int) -> None:
    gate = anyio.Event()
    arrived = [0]

    async def main(client: RuntimeClient) -> None:
        while True:
            event = await client.next()
            arrived[0] += 1
            if arrived[0] == n:
                gate.set()
            if not gate.is_set():
                await gate.wait()
            client.respond(event.request_id, b"{}")

    def make(config: FunctionConfig) -> Environment:
        return Environment(InProcessRuntime(main), config=config, freeze=False)

    config = FunctionConfig(timeout=900)
    async with Function(make, config, reserved_concurrency=n, idle_timeout=None) as fn:
        before = rss()
        began = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for _ in range(n):
                tg.start_soon(fn.invoke, b"{}")
        took = time.perf_counter() - began
        grown = rss() - before
        each = grown / n / 1024
        print(f"{n} environments: {took:.2f} s for the cold starts, {each:.1f} KiB each")
        await anyio.sleep(0.1)
        began = time.perf_counter()
        for _ in range(warm):
            await fn.invoke(b"{}")
        pooled = (time.perf_counter() - began) / warm
    async with Environment(InProcessRuntime(main), config=config, freeze=False) as env:
        await env.invoke(b"{}")
        began = time.perf_counter()
        for _ in range(warm):
            await env.invoke(b"{}")
        bare = (time.perf_counter() - began) / warm
    print(
        f"warm invoke: {pooled * 1e6:.1f} us through the pool of {n}, "
        f"{bare * 1e6:.1f} us on a bare environment"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--environments", type=int, default=10_000)
    parser.add_argument("--warm", type=int, default=5_000)
    args = parser.parse_args()
    anyio.run(run, args.environments, args.warm)


if __name__ == "__main__":
    main()
