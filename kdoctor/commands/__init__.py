"""The commands, one module per family. Each exposes `register(app)`; kdoctor/cli.py only assembles them.

Heavy modules (rich, pydantic, httpx, python-on-whales) are imported inside the command functions so
that `kdoctor --help` starts fast.
"""
