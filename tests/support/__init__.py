"""Test support shared by tests/ and benchmarks/: the real parts the tests start (registry, dockerd, proxies, a token
service), builders of images and binaries, the real-kubectl fixture, the diagnose corpus replay, and one way to run
kdoctor (`cli.run_kdoctor`). Imported as `tests.support.X` from the repository root (pytest and `python -m
benchmarks.run` both put it on the path), never through sys.path edits."""
