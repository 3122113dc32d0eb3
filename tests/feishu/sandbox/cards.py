"""Reading the console's Feishu cards as the sandbox received them."""

from __future__ import annotations


def offered_buttons(card: dict) -> dict[str, dict]:
    rows = [e for e in card["elements"] if e.get("tag") == "action"]
    buttons = [b for row in rows for b in row["actions"] if b["value"].get("action") == "offer"]
    return {b["value"]["key"]: b for b in buttons}
