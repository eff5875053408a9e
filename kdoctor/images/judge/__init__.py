"""Judging: verdicts from an image's shape, its entrypoint and the emulator; the risk and CPU-feature rules.

Imports only `inspect` among the `images` sub-packages (scripts/layers.py)."""
