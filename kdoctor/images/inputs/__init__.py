"""Where image uses come from: Kubernetes objects and Compose files (with interpolation), the live cluster.

Imports no other `images` sub-package (scripts/layers.py)."""
