"""Order books, densities, tape, trend and movers: pure and synchronous, time passed in."""
