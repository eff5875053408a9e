"""`kdoctor images`: image platforms from registries, and which amd64 Go entrypoints will crash."""

# Connections per registry host, and images resolved at once. Measured with benchmarks/latency.py
# (500 repositories at 50 ms): 16 -> 4.61 s cold, 2.90 s warm; 32 -> 3.09 s, 1.75 s; 48 -> 2.96 s, 1.88 s.
# Past 32 the threads contend for the CPU (2 cores) and warm runs get slower again. Here, not in the
# registry client, because the CLI reads it at start-up and must not import httpx for it.
DEFAULT_CONCURRENCY = 32
