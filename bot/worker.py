"""The one thread that owns the database connection and the model, and the async façade to it.

The event loop must never wait on disk or on the model, and the connection's transactions must
never interleave, so everything that touches either runs here, one call at a time. SQLite's steps
and LiteRT's Invoke release the GIL: the loop keeps talking to Telegram meanwhile.

Telegram handlers hold a `Worker`, never the `Runtime` itself: `await worker.run(usecase, ...)` is
their only way in, so the contract "nothing on the event loop touches the database or the model"
is in the types, not in a docstring.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Concatenate, ParamSpec, TypeVar

from bot.runtime import Runtime

P = ParamSpec("P")
T = TypeVar("T")
THREAD_NAME = "supportbot-worker"


class Worker:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._pool = ThreadPoolExecutor(1, thread_name_prefix=THREAD_NAME)

    async def run(self, usecase: Callable[Concatenate[Runtime, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `usecase(runtime, *args, **kwargs)` on the worker thread without blocking the loop."""
        call = functools.partial(usecase, self._runtime, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    def close(self) -> None:
        """Finish the calls in flight, then close the database."""
        self._pool.shutdown(wait=True)
        self._runtime.close()
