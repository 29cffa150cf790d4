"""Policy what-if from the web: edit the tier thresholds of the current policy, or upload a policy.

The edited thresholds are written into a copy of ``policy.yaml`` in the scratch area and
evaluated by :func:`tierwise.app.whatif.what_if` (nothing is published); a bad value fails the
policy's own validation with its location (``tiers → levels → 2 → maintain``).
"""

from __future__ import annotations

import secrets
import shutil

import yaml

from tierwise.app.access import Principal, require
from tierwise.app.workspace import Workspace
from tierwise.errors import TierwiseError, UserInputError


def current_levels(ws: Workspace, principal: Principal) -> list[dict]:
    """The tier levels of the workspace policy: id, labels, entry and maintain thresholds."""
    require(principal, "whatif.run")
    p = ws.policy()
    return [{"id": lv.id, "label": {"zh-CN": lv.label.zh_CN, "en": lv.label.en},
             "entry": _plain(lv.entry), "maintain": _plain(lv.maintain)} for lv in p.tiers.levels]


def _plain(v: float | None) -> float | int | None:
    """2000000.0 → 2000000 (so forms show whole numbers as typed)."""
    return int(v) if v is not None and float(v).is_integer() else v


def _number(level: str, key: str, v) -> float | None:
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    try:
        x = float(str(v).replace(",", "").strip())
    except ValueError:
        raise UserInputError(f"tier '{level}', {key}: {v!r} is not a number",
                             hint="write a number such as 500000 (or leave maintain empty)") from None
    return int(x) if x.is_integer() else x


def what_if_thresholds(ws: Workspace, principal: Principal, changes: dict[str, dict]) -> dict:
    """``changes``: level id → {"entry": …, "maintain": …}; returns what-if's result plus the proposal."""
    from tierwise.app.whatif import what_if

    require(principal, "whatif.run")
    raw = yaml.safe_load(ws.policy_path.read_text(encoding="utf-8"))
    levels = raw["tiers"]["levels"]
    known = [lv["id"] for lv in levels]
    unknown = sorted(set(changes) - set(known))
    if unknown:
        raise UserInputError(f"unknown tier {unknown[0]!r}", hint=f"the tiers are {', '.join(known)}")
    proposal = {}
    for lv in levels:
        ch = changes.get(lv["id"])
        if not ch:
            continue
        for key in ("entry", "maintain"):
            if key in ch:
                v = _number(lv["id"], key, ch[key])
                if v is not None:
                    lv[key] = v
                elif key == "maintain":          # empty: maintain defaults to entry
                    lv.pop(key, None)
        proposal[lv["id"]] = {"entry": lv.get("entry"), "maintain": lv.get("maintain")}
    folder = ws.scratch / "whatif" / secrets.token_hex(6)
    folder.mkdir(parents=True)
    path = folder / "policy.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    try:
        result = what_if(ws, path, actor=principal.username)
    except TierwiseError as exc:         # name the proposal, not the scratch file
        exc.message = exc.message.replace(str(path), "policy.yaml (proposed)")
        exc.args = (exc.message,)
        raise
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {**result, "proposal": proposal}
