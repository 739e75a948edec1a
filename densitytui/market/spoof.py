"""The one spoof rule (DESIGN §2), used by the density tracker, the signal rules and the UI.

A density is a spoof when more than `spoof_share` of what it lost was pulled (cancelled)
rather than eaten (traded), once that loss is material: at least `min_loss_share` of its peak
size (a wall that lost 0.1 % to one cancel is no spoof).
"""

from __future__ import annotations

from densitytui.model import Density


def is_spoof(density: Density, spoof_share: float, min_loss_share: float) -> bool:
    lost = density.eaten + density.pulled
    return density.pulled > spoof_share * lost and lost >= min_loss_share * density.peak_size
