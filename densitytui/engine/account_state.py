"""What the engine keeps in the store for a restart: the safety state (equity peak, the day's
loss, the stop streak, the kill switch) and a paper account's balance and positions.

A backtest's scratch journal gets neither: it is thrown away after the run.
"""

from __future__ import annotations

from collections.abc import Callable

from densitytui.engine.journal import Journal, JournalError
from densitytui.engine.safety import Safety
from densitytui.venues.base import Exchange, SimulatedAccount

STATE_SAFETY = "safety:{venue}"
STATE_PAPER = "paper_account:{venue}"


class AccountStateError(Exception):
    """The stored paper account cannot be restored; the message says why."""


class AccountState:
    """Saves and restores the safety state and the paper account of one venue's account."""

    def __init__(
        self, journal: Journal, exchange: Exchange, safety: Safety, *,
        clock_ms: Callable[[], int], store_failed: Callable[[Exception], None],
        scratch: bool = False,
    ) -> None:
        self.journal = journal
        self.exchange = exchange
        self.safety = safety
        self.clock_ms = clock_ms
        self.store_failed = store_failed
        self.scratch = scratch

    def _key(self, template: str) -> str:
        return template.format(venue=self.exchange.name)

    async def restore_safety(self) -> None:
        self.safety.restore(await self.journal.get_state(self._key(STATE_SAFETY)))

    async def restore_account(self) -> bool:
        """Restore a paper account from the store; True when one was there."""
        account = self.exchange
        if not isinstance(account, SimulatedAccount):
            return False
        stored = await self.journal.get_state(self._key(STATE_PAPER))
        if not isinstance(stored, dict):
            return False
        try:
            account.restore_state(stored)
        except ValueError as exc:
            raise AccountStateError(
                f"the stored paper account of {account.name} cannot be restored "
                f"({exc}); refusing to start on a fresh one"
            ) from None
        return True

    async def save(self) -> None:
        """The safety state and the paper account; a store that fails stops entries."""
        if self.scratch:
            return
        try:
            await self.journal.set_state(
                self._key(STATE_SAFETY), self.safety.to_state(), self.clock_ms(),
            )
            await self.save_account()
        except JournalError as exc:
            self.store_failed(exc)

    async def save_account(self) -> None:
        account = self.exchange
        if isinstance(account, SimulatedAccount) and not self.scratch:
            await self.journal.set_state(
                self._key(STATE_PAPER), account.export_state(), self.clock_ms(),
            )
