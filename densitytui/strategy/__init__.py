"""Signal rules, entry checks and exit rules: pure and synchronous, time passed in."""
