"""`kdoctor images`: image platforms from registries, and which amd64 Go entrypoints will crash."""

# Connections per registry host, and images resolved at once. Measured with benchmarks/latency.py (500
# repositories at 50 ms, one client per thread; README Performance 7): 32 -> 2.53 s cold, 1.34 s warm;
# 48 -> 1.93 s, 1.01 s; 64 -> 1.75 s, 0.96 s; on loopback all of 16-64 take 0.8-0.9 s. 48, not 64: most of
# the gain, half the way from 32 to 64 in connections a registry sees from one laptop, and far below
# macOS's default limit of 256 open files. Here, not in the registry client, because the CLI reads it at
# start-up and must not import httpx for it.
DEFAULT_CONCURRENCY = 48
