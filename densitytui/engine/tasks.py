"""The engine's short-lived tasks (entries, exits, closes, housekeeping rounds), and lockstep
settling: in a simulated run or a replay, whatever one frame caused finishes before the next.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import structlog

log = structlog.get_logger("densitytui.engine")


class EngineTasks:
    """Spawn tasks, report the ones that fail (`failed`), wait for all to settle."""

    def __init__(self, failed: Callable[[BaseException], None]) -> None:
        self.failed = failed
        self.running: set[asyncio.Task[Any]] = set()
        # Set while the private stream waits for its next update (nothing of it in hand).
        self.account_idle = asyncio.Event()

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coroutine)
        self.running.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self.running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.error("engine task failed", error=repr(exc))
            assert exc is not None
            self.failed(exc)

    async def settle(self) -> None:
        """Let every task and account update finish, including those they started."""
        while True:
            pending = [task for task in self.running if not task.done()]
            if pending:
                await asyncio.wait(pending)
                continue
            await asyncio.sleep(0)
            if not self.account_idle.is_set():
                await self.account_idle.wait()
                continue
            if all(task.done() for task in self.running):
                return
