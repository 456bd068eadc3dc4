"""Simulated tumours and the bundled demo (used by the CLI and tests only)."""
