"""Alerts: the engine events a trader must not miss reach them off the screen too.

A new signal, a fill (a position opened), a stop-loss and the kill switch ring the terminal
bell, raise a desktop notification (notify-send, where installed) and go to Telegram through
the Bot API; each kind and each channel is switched in `[alerts]`. The bot's token comes from
the environment (`TELEGRAM_BOT_TOKEN`), like the exchange keys, and never reaches a log: a
failed request is logged by its status alone, since its URL holds the token. Nothing here ever
raises into the screen or waits in it: the sends run in threads and subprocesses.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from enum import StrEnum

import structlog

from densitytui.config import AlertsSection
from densitytui.model import AppEvent

log = structlog.get_logger("densitytui.alerts")
TOKEN_ENV = "TELEGRAM_BOT_TOKEN"


class AlertKind(StrEnum):
    SIGNAL = "signal"
    FILL = "fill"
    STOP = "stop"
    KILL_SWITCH = "kill_switch"


def alert_kind(event: AppEvent) -> AlertKind | None:
    """Which alert an engine event is, if any (a close by its stop-loss is a stop)."""
    if event.kind == "signal":
        return AlertKind.SIGNAL
    if event.kind == "opened":
        return AlertKind.FILL
    if event.kind == "closed" and "stop" in event.message.lower():
        return AlertKind.STOP
    if event.kind == "kill_switch":
        return AlertKind.KILL_SWITCH
    return None


class Alerter:
    """Sends the alerts `[alerts]` asks for; `bell` rings the terminal (the app's)."""

    def __init__(
        self, settings: AlertsSection, bell: Callable[[], None],
        environ: dict[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self._bell = bell
        env = os.environ if environ is None else environ
        self._token = env.get(TOKEN_ENV, "")
        self._notify_send = shutil.which("notify-send") if settings.desktop else None
        self._tasks: set[asyncio.Task[None]] = set()
        self.sent = 0
        if settings.telegram and not self._token:
            log.warning("telegram alerts are on but TELEGRAM_BOT_TOKEN is not set: none sent")

    def wanted(self, kind: AlertKind) -> bool:
        return bool(getattr(self.settings, f"on_{kind.value}"))

    def handle(self, events: Iterable[AppEvent]) -> None:
        """Alert on each event that is a wanted kind; returns at once."""
        for event in events:
            kind = alert_kind(event)
            if kind is None or not self.wanted(kind):
                continue
            text = f"densitytui {kind.value}: {event.message}"
            if self.settings.bell:
                self._bell()
            if self._notify_send:
                self._spawn(self._desktop(text))
            if self.settings.telegram and self._token:
                self._spawn(asyncio.to_thread(self._telegram, text))

    def _spawn(self, work: object) -> None:
        task = asyncio.ensure_future(work)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _desktop(self, text: str) -> None:
        assert self._notify_send is not None
        try:
            process = await asyncio.create_subprocess_exec(
                self._notify_send, "densitytui", text,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            )
            await process.wait()
        except OSError as exc:
            log.warning("desktop notification failed", error=str(exc))

    def _telegram(self, text: str) -> None:
        """POST sendMessage; a failure is logged without the URL (it holds the token)."""
        settings = self.settings
        body = json.dumps({"chat_id": settings.telegram_chat_id, "text": text}).encode()
        request = urllib.request.Request(
            f"{settings.telegram_api}/bot{self._token}/sendMessage", data=body,
            headers={"Content-Type": "application/json"}, method="POST",
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=settings.telegram_timeout_s) as answer:
                answer.read()
            self.sent += 1
        except urllib.error.HTTPError as exc:
            log.warning("telegram alert refused", status=exc.code)
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            log.warning("telegram alert not sent", error=type(reason).__name__)

    async def drain(self) -> None:
        """Wait for the sends under way (on quit, and in tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
