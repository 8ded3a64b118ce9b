"""Amplification analysis: timelines, first movers, who-follows-whom, syndication, bursts, aliases.

Pure functions over plain data; the database layer feeds them ``TimelineEvent`` rows.
"""

from tracker.analysis.actors import AliasRules, normalise_name, suggest_aliases
from tracker.analysis.spread import activity_series, detect_bursts
from tracker.analysis.syndication import find_copies
from tracker.analysis.timeline import TimelineEvent, build_timeline, overall_flows

__all__ = [
    "AliasRules",
    "TimelineEvent",
    "activity_series",
    "build_timeline",
    "detect_bursts",
    "find_copies",
    "normalise_name",
    "overall_flows",
    "suggest_aliases",
]
