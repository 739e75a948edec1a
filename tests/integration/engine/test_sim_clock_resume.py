"""A simulated run faster than real time goes ahead of the wall clock; killed and restarted on
the same database, the market resumes after the latest stored time instead of rewinding to now,
so nothing resumed from the store (a position) can close before it opened."""

from __future__ import annotations

import signal

from test_engine_restart import _read_until, _rows, _start


def test_a_restarted_sim_resumes_after_the_stored_time(tmp_path) -> None:
    db = tmp_path / "e.db"
    first = _start(tmp_path, db, "--speed", "20")
    try:
        _read_until(first, "opened")
        _read_until(first, "opened")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    (last_event_id, first_run_end), = _rows(db, "SELECT MAX(id), MAX(ts) FROM events")
    (last_opened,), = _rows(db, "SELECT MAX(opened_at) FROM positions")
    assert last_opened is not None and last_opened <= first_run_end + 1_000

    second = _start(tmp_path, db, "--speed", "0", "--duration", "30")
    _, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    later = _rows(db, f"SELECT MIN(ts), COUNT(*) FROM events WHERE id > {last_event_id}")
    (second_run_start, count), = later
    assert count > 0
    assert second_run_start > max(first_run_end, last_opened), (
        f"market time rewound by {max(first_run_end, last_opened) - second_run_start} ms"
    )
    assert _rows(db, "SELECT COUNT(*) FROM positions WHERE closed_at < opened_at") == [(0,)]
