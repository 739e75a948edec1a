"""Alerts reach a local fake Telegram Bot API: a new signal, then, with signals switched off,
only the fill of the confirmed one. The token comes from the environment."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from engine_app import engine_app, until, with_signals

from densitytui.ui.widgets.signals import SignalsTable

TOKEN = "123456:TEST-token"


class FakeTelegram(ThreadingHTTPServer):
    """Answers sendMessage as the Bot API does and keeps what it was sent."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[tuple[str, dict]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: FakeTelegram

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.received.append((self.path, body))
        answer = json.dumps({"ok": True, "result": {"message_id": len(self.server.received)}})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(answer.encode())

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def telegram(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTelegram]:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    server = FakeTelegram()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def _alerts(server: FakeTelegram, **kinds: bool) -> dict:
    return {"bell": False, "desktop": False, "telegram": True, "telegram_api": server.url,
            "telegram_chat_id": "42", **kinds}


async def test_a_new_signal_is_sent_to_telegram(tmp_path, telegram: FakeTelegram) -> None:
    app, clock = engine_app(tmp_path, alerts=_alerts(telegram))
    async with app.run_test(size=(160, 48)) as pilot:
        await with_signals(pilot, app, clock)
        await until(pilot, lambda: bool(telegram.received), "a message at the fake Telegram")
        path, body = telegram.received[0]
        assert path == f"/bot{TOKEN}/sendMessage"
        assert body["chat_id"] == "42"
        symbols = {p.signal.symbol for p in app.engine.snapshot().signals}
        assert body["text"].startswith("densitytui signal: ")
        assert any(symbol in body["text"] for symbol in symbols)


async def test_each_kind_switches_alone(tmp_path, telegram: FakeTelegram) -> None:
    app, clock = engine_app(tmp_path, alerts=_alerts(telegram, on_signal=False))
    async with app.run_test(size=(160, 48)) as pilot:
        await with_signals(pilot, app, clock)
        app.main_screen.query_one(SignalsTable).focus()
        await pilot.press("y")
        await until(pilot, lambda: bool(telegram.received), "the fill's message")
        await app.alerter.drain()
        texts = [body["text"] for _, body in telegram.received]
        assert texts and all(text.startswith("densitytui fill: ") for text in texts), texts
