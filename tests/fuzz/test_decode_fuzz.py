"""Fuzzed public frames: whatever arrives, `decode_frame` returns a message or raises
`DecodeError` (which the market engine counts as malformed and skips); nothing else escapes.

The frames start from real ones (a book snapshot, a delta and trades of the recorded BTC file, a
tickers frame of Bybit's docs) and are mutated where they can hurt: a value of the wrong JSON
type, a non-finite or negative number, a symbol that is not the topic's, junk bytes. Hypothesis
runs derandomized with bounded examples, so every run tries the same cases.
"""

from __future__ import annotations

import gzip
import json
from itertools import islice
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from json_paths import paths, replaced

from densitytui.market.decode import (
    BookMessage,
    DecodeError,
    TickerMessage,
    TradeMessage,
    decode_frame,
)
from tests.conftest import BTC_FILE, DOCS_EXAMPLES

FUZZ = settings(
    derandomize=True, max_examples=300, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _real_frames() -> dict[str, dict[str, Any]]:
    if not BTC_FILE.exists():
        pytest.fail(f"shared data {BTC_FILE} is absent (expected at ../shared)")
    found: dict[str, dict[str, Any]] = {}
    with gzip.open(BTC_FILE, "rb") as lines:
        for line in islice(lines, 400):
            frame = orjson.loads(line)
            kind = "trade" if frame["topic"].startswith("publicTrade") else frame["type"]
            found.setdefault(kind, frame)
    snapshot = found["snapshot"]
    snapshot["data"]["b"] = snapshot["data"]["b"][:5]
    snapshot["data"]["a"] = snapshot["data"]["a"][:5]
    tickers = json.loads((DOCS_EXAMPLES / "ws_public_ticker_linear_perpetual_snapshot.json").read_text())
    found["tickers"] = tickers
    return found


REAL = _real_frames()

wrong_types = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False),
    st.text(max_size=8), st.lists(st.integers(), max_size=3), st.dictionaries(
        st.text(max_size=3), st.integers(), max_size=2),
)
bad_numbers = st.sampled_from(
    ["NaN", "nan", "inf", "-inf", "Infinity", "1e999", "-1", "-0.5", "0", "", "1e-400", " 1"]
)


def _dumps(frame: Any) -> bytes:
    """Bybit's compact layout (so the typed fast path decodes it), with any int and NaN."""
    return json.dumps(frame, separators=(",", ":")).encode()




def _decoded_or_malformed(raw: bytes | str) -> object:
    try:
        return decode_frame(raw)
    except DecodeError as exc:
        assert exc.kind and exc.reason
        return exc


@st.composite
def mutated(draw: st.DrawFn, values: st.SearchStrategy[Any]) -> bytes:
    frame = REAL[draw(st.sampled_from(sorted(REAL)))]
    path = draw(st.sampled_from(paths(frame)))
    return _dumps(replaced(frame, path, draw(values)))


@FUZZ
@given(mutated(wrong_types))
def test_a_value_of_the_wrong_type_anywhere_is_a_message_or_malformed(raw: bytes) -> None:
    _decoded_or_malformed(raw)


@FUZZ
@given(mutated(bad_numbers))
def test_non_finite_and_negative_numbers_never_reach_a_message(raw: bytes) -> None:
    outcome = _decoded_or_malformed(raw)
    if isinstance(outcome, BookMessage):
        for price, size in outcome.bids + outcome.asks:
            assert 0 < price < float("inf") and 0 <= size < float("inf")
    elif isinstance(outcome, TradeMessage):
        for item in outcome.items:
            assert 0 < item.price < float("inf") and 0 < item.size < float("inf")
    elif isinstance(outcome, TickerMessage):
        for name, value in outcome.fields.items():
            assert value == value and abs(value) < float("inf"), name
            # The 24 h change and the funding rate may be negative; nothing else.
            assert name in ("change_24h_pct", "funding_rate_pct") or value >= 0, name


@FUZZ
@given(st.sampled_from(["snapshot", "delta", "trade", "tickers"]),
       st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ.", max_size=10))
def test_a_symbol_that_is_not_the_topics_is_rejected(kind: str, other: str) -> None:
    frame = REAL[kind]
    symbol = frame["topic"].rsplit(".", 1)[-1]
    if other == symbol:
        return
    if kind == "trade":
        frame = replaced(frame, ("data", 0, "s"), other)
    elif kind == "tickers":
        frame = replaced(frame, ("data", "symbol"), other)
    else:
        frame = replaced(frame, ("data", "s"), other)
    outcome = _decoded_or_malformed(_dumps(frame))
    assert isinstance(outcome, DecodeError), outcome
    assert "topic" in outcome.reason


@FUZZ
@given(st.binary(max_size=200) | st.text(max_size=50).map(lambda text: text.encode()))
def test_junk_bytes_are_malformed(raw: bytes) -> None:
    _decoded_or_malformed(raw)


@FUZZ
@given(st.sampled_from(sorted(REAL)), st.integers(0, 400), st.binary(min_size=1, max_size=4))
def test_damaged_real_frames_are_messages_or_malformed(kind: str, at: int, junk: bytes) -> None:
    raw = _dumps(REAL[kind])
    at = min(at, len(raw))
    _decoded_or_malformed(raw[:at] + junk + raw[at + len(junk):])


@pytest.mark.parametrize(
    "raw",
    [
        # prices as JSON numbers instead of strings, in a snapshot: msgspec.ValidationError before
        b'{"topic":"orderbook.50.X","type":"snapshot","ts":1,'
        b'"data":{"s":"X","b":[[1.5,2]],"a":[],"u":1,"seq":1}}',
        "\ud800",
        b'{"topic":"tickers.X","type":"snapshot","ts":1,"data":{"symbol":"X","lastPrice":"nan"}}',
        b'{"topic":"tickers.X","type":"snapshot","ts":1,"data":{"symbol":"X","volume24h":"-5"}}',
        b'{"topic":"tickers.X","type":"snapshot","ts":1,"data":{"symbol":"X","markPrice":"inf"}}',
        b'{"topic":"orderbook.50.X","type":"delta","ts":1,'
        b'"data":{"s":"","b":[["1","2"]],"a":[],"u":5,"seq":1}}',
        b'{"topic":"orderbook.50.","type":"delta","ts":1,'
        b'"data":{"s":"","b":[["1","2"]],"a":[],"u":5,"seq":1}}',
    ],
    ids=["numeric-snapshot", "lone-surrogate", "ticker-nan", "ticker-negative", "ticker-inf",
         "book-symbol-mismatch", "book-no-symbol"],
)
def test_each_case_the_probe_found_is_malformed(raw: bytes | str) -> None:
    with pytest.raises(DecodeError):
        decode_frame(raw)


def test_a_negative_24h_change_is_a_fall_not_an_error() -> None:
    message = decode_frame(
        b'{"topic":"tickers.X","type":"snapshot","ts":1,'
        b'"data":{"symbol":"X","price24hPcnt":"-0.031","lastPrice":"2"}}'
    )
    assert isinstance(message, TickerMessage)
    assert message.fields["change_24h_pct"] == pytest.approx(-3.1)
