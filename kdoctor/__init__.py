"""kdoctor: a doctor and provisioner for local Kubernetes clusters on Apple Silicon Macs."""

__version__ = "0.1.0"
