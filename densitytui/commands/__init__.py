"""Sub-commands of the `densitytui` CLI, one module each."""
