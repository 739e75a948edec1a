"""Trading rules for recordings that do not hold them: `--instrument` and `--instruments` (a saved
Bybit instruments-info answer, the shape of ../shared/bybit/docs-examples) on `backtest` and
`replay`, and where each symbol's rules came from said in the output."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

import pytest

from densitytui.cli import main
from densitytui.commands.replay import replay_app, replay_problem
from densitytui.config import Config
from densitytui.model import Instrument
from densitytui.venues.replay import ReplayPace

DOCS_ANSWER = "rest_market_instruments_info_linear_response.json"
WALL_LIMIT_S = 60.0


def _docs_answer(docs_examples: Path) -> dict[str, Any]:
    return json.loads((docs_examples / DOCS_ANSWER).read_text())


def _xrp_answer(docs_examples: Path, path: Path) -> Path:
    """Bybit's documented answer with its one instrument made XRPUSDT's (tick 0.0001, qty step
    and minimum 1, minimum notional 5)."""
    answer = _docs_answer(docs_examples)
    [btc] = answer["result"]["list"]
    xrp = copy.deepcopy(btc)
    xrp["symbol"] = "XRPUSDT"
    xrp["priceFilter"]["tickSize"] = "0.0001"
    xrp["lotSizeFilter"].update({"qtyStep": "1", "minOrderQty": "1", "minNotionalValue": "5"})
    answer["result"]["list"] = [xrp]
    path.write_text(json.dumps(answer))
    return path


def test_backtest_takes_the_documented_answer_and_says_so(
    btc_file: Path, docs_examples: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    [documented] = _docs_answer(docs_examples)["result"]["list"]
    assert main([
        "backtest", str(btc_file), "--json", "--instruments", str(docs_examples / DOCS_ANSWER),
    ]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["instrument_sources"] == {"BTCUSDT": "given"}
    assert data["inferred_instruments"] == []
    assert data["instruments"] == [{
        "symbol": "BTCUSDT",
        "tick_size": float(documented["priceFilter"]["tickSize"]),
        "qty_step": float(documented["lotSizeFilter"]["qtyStep"]),
        "min_qty": float(documented["lotSizeFilter"]["minOrderQty"]),
        "min_notional": float(documented["lotSizeFilter"]["minNotionalValue"]),
    }]
    # Without it, BTCUSDT's rules are the published ones the replay knows; nothing inferred.
    assert main(["backtest", str(btc_file), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["instrument_sources"] == {"BTCUSDT": "known"}


def test_backtest_text_says_which_rules_were_inferred(
    xrp_file: Path, docs_examples: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["backtest", str(xrp_file)]) == 0
    assert "instrument rules: XRPUSDT: INFERRED from the data" in capsys.readouterr().out
    answer = _xrp_answer(docs_examples, tmp_path / "instruments.json")
    assert main(["backtest", str(xrp_file), "--instruments", str(answer)]) == 0
    out = capsys.readouterr().out
    assert "instrument rules: XRPUSDT: given" in out and "INFERRED" not in out


@pytest.mark.parametrize("command", ["backtest", "replay"])
def test_an_unreadable_instruments_file_is_one_line(
    command: str, xrp_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    bad = tmp_path / "instruments.json"
    bad.write_text('{"retCode": 0, "result": {"list": [{"symbol": "XRPUSDT"}]}}')
    assert main([command, str(xrp_file), "--instruments", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "instruments-info" in err


def test_replay_takes_given_rules(xrp_file: Path, tmp_path: Path) -> None:
    config = Config.model_validate({
        "app": {"venue": "replay"},
        "storage": {"url": f"sqlite:///{tmp_path / 'replay.db'}"},
        "logging": {"file": str(tmp_path / "log.jsonl")},
    })
    given = Instrument("XRPUSDT", 0.0001, 1.0, 1.0, 5.0, 1e6)
    assert replay_problem([str(xrp_file)], config, {}, [given]) == ("", {"XRPUSDT": "given"})
    assert replay_problem([str(xrp_file)], config, {}) == ("", {"XRPUSDT": "inferred"})
    pace = ReplayPace(10, max_speed=100)
    pace.toggle_pause()
    app = replay_app(config, [str(xrp_file)], {}, pace, [given])

    async def scenario() -> Instrument:
        async with app.run_test(size=(120, 32)):
            loop = asyncio.get_running_loop()
            deadline = loop.time() + WALL_LIMIT_S
            while app.engine is None or "XRPUSDT" not in app.engine.instruments:
                assert loop.time() < deadline, "no engine with its instruments"
                await asyncio.sleep(0.01)
            return app.engine.instruments["XRPUSDT"]

    assert asyncio.run(scenario()) == given
