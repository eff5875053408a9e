"""Where a key is written in a YAML file, for errors that name the file, the line and the key (profiles, the
policy file)."""

from __future__ import annotations

from typing import Any

import yaml


def line_for(text: str, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the key at `loc` in a YAML document (best effort)."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == part:
                    line, node = k.start_mark.line + 1, v
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line
