"""The use cases: one function per operation a researcher, viewer, admin or job performs.

The CLI, the dashboard and the JSON API are faces over this package: a face parses its input, calls
one use case and renders what it returns. Changes take the ``Workspace`` (database, settings,
embedding model) and the acting user, and write their audit rows in their own transaction; reads
take a reading session (the face decides its lifetime: one per command, one per web request) and
return plain data. Refusals are ``tracker.errors.Refused``, with a kind and the field at fault.

One module per subject: ``narratives``, ``tagging``, ``statements``, ``actors``, ``sources``,
``pipeline``, ``accounts``, ``exports`` and ``system``.
"""

from tracker.errors import Refused
from tracker.service.workspace import Workspace

__all__ = ["Refused", "Workspace"]
