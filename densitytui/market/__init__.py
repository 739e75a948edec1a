"""Order books, densities, tape, trend and movers: pure and synchronous, time passed in.

Importing the package picks the market core (compiled or pure Python) first: see `core`."""

from densitytui.market import core as core
