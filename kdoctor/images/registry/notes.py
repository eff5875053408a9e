"""The notes files the cache keeps beside its blobs, and a verdict file carries too (verdicts.py)."""

TAGS = "tags.json"  # {ref: {digest, media_type, checked}}
ANALYSES = "analyses.json"  # entrypoint analyses (kdoctor/images/inspect/analyse.py), keyed by manifest digest
TAG_LISTS = "taglists.json"  # a repository's tags, for suggestions, keyed by registry/repository
