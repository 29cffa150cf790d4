"""Presets: the starting policy of each scenario.

Each preset is a YAML file beside this module; the common source-header aliases in
``_columns.yaml`` are written into every preset's ``columns:`` section, so a new
workspace's policy shows the user every header it recognises and can be edited.

>>> from tierwise.config.policy import parse_policy
>>> p = parse_policy(render_preset("bank"))
>>> p.preset, "客户号" in p.columns["customers"]["customer_id"]
('bank', True)
"""

from __future__ import annotations

from importlib import resources

import yaml

from tierwise.config.policy import PRESETS
from tierwise.errors import UserInputError, did_you_mean


def _read(name: str) -> str:
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


def render_preset(name: str) -> str:
    """Full policy YAML text of preset ``name`` (its own settings plus the column aliases)."""
    if name not in PRESETS:
        hint = did_you_mean(name, PRESETS)
        raise UserInputError(f"unknown preset '{name}'", hint=hint or f"choose one of: {', '.join(PRESETS)}")
    body = _read(f"{name}.yaml").rstrip("\n")
    columns = yaml.safe_load(_read("_columns.yaml"))
    block = yaml.safe_dump({"columns": columns}, allow_unicode=True, sort_keys=False,
                           default_flow_style=None, width=200)
    return (f"{body}\n\n# Source headers recognised for each canonical column (case-insensitive).\n"
            f"# Add your own export's headers to the lists.\n{block}")
