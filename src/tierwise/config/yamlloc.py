"""Load YAML while keeping where each value was written, for located error messages.

>>> doc = load_yaml_with_marks("a:\\n  b: [1, 2]\\n", "policy.yaml")
>>> doc.data
{'a': {'b': [1, 2]}}
>>> doc.where(("a", "b", 1))
'policy.yaml:2:10'
>>> doc.where(("a", "zzz"))
'policy.yaml:2:3'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import yaml

from tierwise.errors import PolicyError

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser when libyaml is present


@dataclass
class MarkedYaml:
    data: object
    root: yaml.Node | None
    source: str

    def where(self, path: Sequence[str | int]) -> str:
        """``file:line:col`` of the deepest node along ``path`` that exists."""
        node = self.root
        mark = node.start_mark if node is not None else None
        for key in path:
            child = _child(node, key)
            if child is None:
                break
            node = child
            mark = node.start_mark
        if mark is None:
            return self.source
        return f"{self.source}:{mark.line + 1}:{mark.column + 1}"


def _child(node: yaml.Node | None, key: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if k.value == str(key):
                # point at the key when it is a scalar leaf, so "unknown key" lands on the key
                return v if not isinstance(v, yaml.ScalarNode) else v
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
        return node.value[key]
    return None


def load_yaml_with_marks(text: str, source: str) -> MarkedYaml:
    """Parse ``text``; a syntax error becomes a :class:`PolicyError` naming line and column."""
    try:
        root = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        loc = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise PolicyError(f"{loc}: invalid YAML: {exc.problem}",
                          hint="check indentation and quoting near that line") from None
    except yaml.YAMLError as exc:  # pragma: no cover - other YAML errors carry no mark
        raise PolicyError(f"{source}: invalid YAML: {exc}") from None
    return MarkedYaml(data, root, source)
