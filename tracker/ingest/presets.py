"""Presets: how a known third-party file (e.g. EUvsDisinfo's scrape) maps onto our columns.

A preset renames columns and then reshapes each record before it is checked, so both the CSV
and the JSON Lines readers can take files in someone else's layout.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


def _split_plus(value: Any) -> list[str]:
    if not isinstance(value, str):
        return []
    return [part.strip() for part in value.split("+") if part.strip()]


def _euvsdisinfo(record: dict[str, Any]) -> dict[str, Any]:
    """EUvsDisinfo's scrape: `+`-joined lists, a 'Show more' artefact in outlets, English titles."""
    for column in ("countries", "keywords", "languages"):
        if column in record:
            record[column] = _split_plus(record[column])
    if "outlets" in record:
        outlets = [o for o in _split_plus(record["outlets"]) if o.casefold() != "show more"]
        record["outlets"] = outlets
        record.setdefault("outlet", outlets[0] if outlets else None)
    # The text is EUvsDisinfo's English paraphrase of the claim, whatever language it appeared in.
    record.setdefault("language", "en")
    return record


@dataclass(frozen=True)
class Preset:
    """How a known third-party file maps onto our columns."""

    rename: Mapping[str, str]
    transform: Callable[[dict[str, Any]], dict[str, Any]] = field(default=lambda record: record)


PRESETS: dict[str, Preset] = {
    "euvsdisinfo": Preset(
        rename={"title": "text", "id": "external_id", "date": "published_at"},
        transform=_euvsdisinfo,
    ),
}


def apply_preset(record: dict[str, Any], preset: Preset | None) -> dict[str, Any]:
    if preset is None:
        return record
    renamed = {preset.rename.get(key, key): value for key, value in record.items()}
    return preset.transform(renamed)
