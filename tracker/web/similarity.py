"""Statement vectors for this app's requests: the app's own index per model, checked once per data version."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tracker.web.context import data_version, state

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tracker.service.statements import Neighbours, Vectors


def vectors(session: Session) -> Vectors:
    """Where the request's use cases get a model's vectors: the app's index, current as of the request."""
    version = data_version(session)

    def current(model: str) -> Neighbours:
        return state().vector_indexes[model].current(session, version)

    return current
