"""The words of the data model: kinds of actors and sources, narrative statuses, assignment states, roles.

Their one home. ``models.py`` turns them into check constraints; the library, the service layer and
the faces import them from here, which costs no database library (so `tracker --help` stays fast).
"""

from __future__ import annotations

ACTOR_KINDS = ("official", "state_media", "proxy", "other")
NETWORK_SOURCE_KINDS = ("rss", "html", "transcript")  # fetched over HTTP: the only kinds the web may add
FILE_SOURCE_KINDS = ("telegram", "file")  # a path on the machine that ingests them: added from the CLI only
SOURCE_KINDS = (*NETWORK_SOURCE_KINDS, *FILE_SOURCE_KINDS, "manual")
LIVE_STATUSES = ("emerging", "active", "dormant")  # narratives that still take statements
EDITABLE_STATUSES = (*LIVE_STATUSES, "archived")  # what a researcher may set and still edit
NARRATIVE_STATUSES = (*EDITABLE_STATUSES, "merged", "retired")
NARRATIVE_ORIGINS = ("discovered", "seeded")
# A researcher's verdict on a narrative, apart from its lifecycle status: discovered ones start as
# candidates; tracked ones are followed; "not_narrative" marks routine news, sport, weather...
TRIAGE_STATES = ("candidate", "tracked", "not_narrative")
SHOWN_TRIAGE = ("tracked", "candidate")  # what lists show unless asked for the rest
ASSIGNMENT_STATES = ("assigned", "suggested", "confirmed", "rejected")
ASSIGNMENT_METHODS = ("discovery", "auto", "suggest", "manual", "seed")
CURRENT_STATES = ("assigned", "confirmed")  # states that make a narrative the statement's own
OPEN_STATES = (*CURRENT_STATES, "suggested")  # a statement in any of these is not waiting for assignment
AUTOMATIC_STATES = ("assigned", "suggested")  # what the tracker decided alone; a researcher's tag overrides it
TAGGED_STATES = ("confirmed", "rejected")  # what a researcher's decision leaves
CURRENT_OR_REJECTED = (*CURRENT_STATES, "rejected")  # what re-clustering and centroids learn from
ROLES = ("viewer", "researcher", "admin")
