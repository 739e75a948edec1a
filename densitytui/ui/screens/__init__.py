"""Screens: the main trading screen and the dialogs pushed over it."""
