"""Looking inside an image: the process it starts, its layers, ELF and Go build info, identifying facts.

Imports only the registry face among the `images` sub-packages (scripts/layers.py)."""
