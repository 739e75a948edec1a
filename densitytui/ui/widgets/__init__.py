"""Widgets, each owning its TCSS."""
