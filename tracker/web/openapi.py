"""The OpenAPI 3.1 description of ``/api``, served at ``/api/openapi.json``.

Written by hand next to the ``tracker/web/api/`` package and checked against the real responses by schemathesis
(``tests/test_openapi.py``), so scripts can rely on it: if a route or a shape changes without this
document, that test fails.
"""

from __future__ import annotations

from typing import Any

from tracker import __version__
from tracker.service.statements import STATEMENT_STATES
from tracker.service.tagging import TAG_ACTIONS
from tracker.vocabulary import (
    ACTOR_KINDS,
    ASSIGNMENT_STATES,
    CURRENT_STATES,
    EDITABLE_STATUSES,
    NARRATIVE_STATUSES,
    NETWORK_SOURCE_KINDS,
    ROLES,
    TRIAGE_STATES,
)
from tracker.web.requests import MAX_ID


def _nullable(kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": [kind, "null"], **extra}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: list[str], props: dict[str, Any], *, extra: bool = True) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "required": required, "properties": props}
    if not extra:
        schema["additionalProperties"] = False
    return schema


def _page(item: str) -> dict[str, Any]:
    return _obj(["items", "next"], {"items": {"type": "array", "items": _ref(item)},
                                     "next": _nullable("string", description="cursor of the next page")})


STR = {"type": "string"}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}
ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
TIME = _nullable("string", description="ISO 8601 date-time, UTC")
SCORE = _nullable("number")

STATEMENT_PROPS = {
    "id": INT, "external_id": _nullable("string"), "published_at": TIME, "actor": _nullable("string"),
    "actor_id": _nullable("integer"), "kind": _nullable("string"), "outlet": _nullable("string"),
    "outlet_id": _nullable("integer"), "country": _nullable("string"), "language": _nullable("string"),
    "title": _nullable("string"), "text": STR, "url": _nullable("string"),
}
CURRENT = {"oneOf": [{"type": "null"}, _obj(["id", "label", "state", "score"], {
    "id": INT, "label": _nullable("string"), "state": {"enum": list(CURRENT_STATES)}, "score": SCORE})]}
NARRATIVE_PROPS = {
    "id": INT, "label": STR, "description": _nullable("string"), "status": {"enum": list(NARRATIVE_STATUSES)},
    "triage": {"enum": list(TRIAGE_STATES)}, "origin": STR, "size": INT, "keywords": {"type": "array"}, "first_seen_at": TIME, "last_seen_at": TIME,
    "locked": BOOL,
}
SNAPSHOT = {"type": "array", "items": _obj(["narrative_id", "state"], {"narrative_id": INT,
                                                                       "state": {"enum": list(ASSIGNMENT_STATES)}})}

SCHEMAS: dict[str, Any] = {
    "Error": _obj(["error"], {"error": _obj(["code", "message"], {"code": STR, "message": STR, "field": STR})}),
    "Statement": _obj(list(STATEMENT_PROPS) + ["narrative"], {**STATEMENT_PROPS, "narrative": CURRENT}),
    "StatementDetail": _obj(list(STATEMENT_PROPS) + ["narrative", "assignments", "similar", "similar_model"], {
        **STATEMENT_PROPS, "narrative": CURRENT, "context": _nullable("string"), "origin": _nullable("string"),
        "source_id": _nullable("integer"), "created_at": TIME, "created": BOOL,
        "similar_model": _nullable("string"),
        "assignments": {"type": "array", "items": _obj(["narrative_id", "state", "method", "score"], {
            "narrative_id": INT, "label": STR, "narrative_status": STR, "state": {"enum": list(ASSIGNMENT_STATES)},
            "method": STR, "score": SCORE, "user_id": _nullable("integer"), "updated_at": TIME})},
        "similar": {"type": "array", "items": _ref("Hit")},
    }),
    "Hit": _obj(["score", "statement"], {"score": {"type": "number"}, "statement": _ref("Statement")}),
    "StatementPage": _page("Statement"),
    "Narrative": _obj(list(NARRATIVE_PROPS), NARRATIVE_PROPS),
    "NarrativeDetail": _obj(list(NARRATIVE_PROPS) + ["representatives", "history", "counts", "merged_into"], {
        **NARRATIVE_PROPS, "merged_into": _nullable("integer"),
        "representatives": {"type": "array", "items": _obj(list(STATEMENT_PROPS), STATEMENT_PROPS)},
        "history": {"type": "array", "items": _obj(["kind", "other_narrative_id", "detail", "at"], {
            "kind": STR, "other_narrative_id": _nullable("integer"), "detail": {"type": "object"}, "at": TIME})},
        "counts": _obj(list(ASSIGNMENT_STATES), {s: INT for s in ASSIGNMENT_STATES}),
        "assigned": INT, "suggested": INT,
    }),
    "NarrativePage": _page("Narrative"),
    "Timeline": {"type": "object", "description": "the timeline document (see tracker.analysis.timeline)",
                 "required": ["events", "edges", "edges_total", "waves", "flows", "countries"], "properties": {
                     "events": {"type": "array", "items": {"type": "object"}},
                     "edges": {"type": "array", "items": {"type": "object"}},
                     "edges_total": {"type": "integer", "minimum": 0},
                     "first_mover": {"anyOf": [{"type": "object"}, {"type": "null"}]},
                     "earlier_mentions": {"type": "array", "items": {"type": "object"}},
                     "selected_wave": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}]},
                     "countries": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
                     "flows": {"type": "array", "items": _obj(
                         ["from_country", "to_country", "statements", "actors", "independent", "first_at"], {
                             "from_country": STR, "to_country": STR, "statements": INT, "actors": INT,
                             "independent": INT, "first_at": TIME})},
                     "waves": {"type": "array", "items": _obj(
                         ["wave", "start", "end", "statements", "actor_count", "opened_by", "first_mover",
                          "confidence", "earlier_mentions", "actors", "followers", "countries", "flows", "edges"], {
                             "wave": INT, "start": TIME, "end": TIME, "statements": INT, "actor_count": INT,
                             "opened_by": {"enum": ["start", "gap", "surge"]},
                             "gap_days": _nullable("number"), "first_mover": {"type": "object"},
                             "confidence": {"enum": ["confident", "isolated", "low"]},
                             "earlier_mentions": {"type": "array", "items": {"type": "object"}},
                             "actors": {"type": "array", "items": {"type": "object"}}, "followers": INT,
                             "countries": {"type": "object"}, "flows": {"type": "array", "items": {"type": "object"}},
                             "edges": {"type": "array", "items": {"type": "object"}}})}}},
    "Search": _obj(["query", "model", "items"], {"query": STR, "model": STR,
                                                  "items": {"type": "array", "items": _ref("Hit")}}),
    "Actor": _obj(["id", "name", "kind", "country", "is_outlet"], {
        "id": INT, "name": STR, "kind": {"enum": list(ACTOR_KINDS)}, "country": _nullable("string"),
        "affiliation": _nullable("string"), "is_outlet": BOOL}),
    "ActorDetail": _obj(["id", "name", "kind", "aliases", "narratives", "recent_statements"], {
        "id": INT, "name": STR, "kind": {"enum": list(ACTOR_KINDS)}, "country": _nullable("string"),
        "affiliation": _nullable("string"), "is_outlet": BOOL, "aliases": {"type": "array", "items": STR},
        "statements_spoken": INT, "statements_published": INT, "first_seen_at": TIME, "last_seen_at": TIME,
        "narratives": {"type": "array", "items": _obj(["id", "label", "status", "statements"], {
            "id": INT, "label": STR, "status": STR, "statements": INT})},
        "recent_statements": {"type": "array", "items": _ref("Statement")}}),
    "ActorPage": _page("Actor"),
    "TagResult": _obj(["statement_id", "assignments", "audit_id"], {
        "statement_id": INT, "action": STR, "narrative_id": _nullable("integer"), "assignments": SNAPSHOT,
        "audit_id": INT}),
    "Source": _obj(["id", "name", "kind", "url", "every_seconds", "enabled"], {
        "id": INT, "name": STR, "kind": STR, "url": STR, "every_seconds": INT, "enabled": BOOL,
        "fetch_full_text": BOOL, "country": _nullable("string"), "actor_id": _nullable("integer"),
        "outlet_id": _nullable("integer"), "last_fetched_at": TIME, "next_due_at": TIME,
        "last_status": _nullable("string"), "last_error": _nullable("string"), "error_count": INT}),
    "SourcePage": _page("Source"),
    "FetchResult": _obj(["source", "status", "inserted", "updated", "unchanged", "errors", "error"], {
        "source": STR, "status": {"enum": ["ok", "not_modified", "failed", "busy"]}, "inserted": INT,
        "updated": INT, "unchanged": INT, "errors": INT, "error": _nullable("string")}),
    "Fetches": _obj(["items"], {"items": {"type": "array", "items": _obj(
        ["at", "status", "inserted", "updated", "unchanged", "row_errors", "error"], {
            "at": TIME, "status": STR, "inserted": INT, "updated": INT, "unchanged": INT, "row_errors": INT,
            "error": _nullable("string")})}}),
    "User": _obj(["id", "name", "role", "disabled"], {
        "id": INT, "name": STR, "role": {"enum": list(ROLES)}, "disabled": BOOL, "created_at": TIME}),
    "UserPage": _page("User"),
    "AuditEvent": _obj(["id", "at", "action", "object_type", "object_id", "old", "new"], {
        "id": INT, "at": TIME, "user_id": _nullable("integer"), "user": _nullable("string"), "action": STR,
        "object_type": STR, "object_id": _nullable("string"), "old": _nullable("object"), "new": _nullable("object")}),
    "AuditPage": _page("AuditEvent"),
    "Token": _obj(["id", "user_id", "label", "created_at", "last_used_at", "expires_at", "state"], {
        "id": INT, "user_id": INT, "user": _nullable("string"), "label": _nullable("string"), "created_at": TIME,
        "last_used_at": TIME, "expires_at": TIME, "state": {"enum": ["active", "expired", "revoked"]}}),
    "Tokens": _obj(["items"], {"items": {"type": "array", "items": _ref("Token")}}),
    "Me": _obj(["user", "public_read"], {"user": {"oneOf": [{"type": "null"}, _ref("User")]}, "public_read": BOOL}),
}

ERRORS = {400: "bad query or body", 401: "no or bad credentials", 403: "role too low", 404: "no such resource",
          409: "conflicts with the current state", 413: "body too large", 415: "body is not JSON",
          422: "a field is invalid", 429: "too many requests"}


def _q(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": ID}


LIMIT = _q("limit", {"type": "integer", "minimum": 1, "maximum": 200}, "page size (default web.page_size)")
CURSOR = _q("cursor", {"type": "string", "maxLength": 500}, "the `next` value of the previous page")
SINCE = _q("since", {"type": "string", "format": "date-time"}, "ISO date or date-time (UTC when no zone)")
UNTIL = _q("until", {"type": "string", "format": "date-time"}, "ISO date (whole day) or date-time")
TEXT_Q = _q("q", {"type": "string", "maxLength": 200}, "case-insensitive substring")
COUNTRY = _q("country", {"type": "string", "maxLength": 8}, "ISO country code")


def _op(summary: str, ok: int, schema: str, errors: tuple[int, ...], *, params: list[dict[str, Any]] | None = None,
        body: dict[str, Any] | None = None, public: bool = False, tag: str = "read",
        ok_also: tuple[int, ...] = ()) -> dict[str, Any]:
    responses: dict[str, Any] = {
        str(code): {"description": "success", "content": {"application/json": {"schema": _ref(schema)}}}
        for code in (ok, *ok_also)}
    for code in errors if public else (401, 403, *errors):
        responses[str(code)] = {"description": ERRORS[code],
                                "content": {"application/json": {"schema": _ref("Error")}}}
    op: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": responses, "parameters": params or []}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
        for code in (400, 413, 415, 422):
            responses.setdefault(str(code), {"description": ERRORS[code],
                                             "content": {"application/json": {"schema": _ref("Error")}}})
    if public:
        op["security"] = []
    return op


def _body(required: list[str], props: dict[str, Any]) -> dict[str, Any]:
    return _obj(required, props, extra=False)


OPT = _nullable("string")


def paths() -> dict[str, Any]:
    return {
        "/api/openapi.json": {"get": {"summary": "this document", "security": [], "tags": ["meta"],
                                      "responses": {"200": {"description": "the OpenAPI document",
                                                            "content": {"application/json": {}}}}}},
        "/api/me": {"get": _op("who is calling", 200, "Me", ())},
        **_narrative_paths(), **_statement_paths(), **_actor_paths(), **_admin_paths(),
    }


def _narrative_paths() -> dict[str, Any]:
    nid = _path("narrative_id")
    return {
        "/api/narratives": {
            "get": _op("narratives by recent activity", 200, "NarrativePage", (400,), params=[
                _q("status", {"enum": list(NARRATIVE_STATUSES)}, "default: emerging, active and dormant"),
                _q("triage", {"type": "string", "maxLength": 60, "pattern": "^[a-z_,]+$"},
                   "shown (default: tracked and candidate), all, or triage states joined with commas"),
                COUNTRY, _q("actor", ID, "actor id (speaker or outlet)"), SINCE, UNTIL, TEXT_Q, LIMIT, CURSOR]),
            "post": _op("define a seeded narrative (researcher)", 201, "NarrativeDetail", (422,), tag="write",
                        body=_body(["label", "examples"], {
                            "label": {"type": "string", "minLength": 1, "maxLength": 300},
                            "description": _nullable("string", maxLength=5000),
                            "examples": {"type": "array", "minItems": 1, "maxItems": 200,
                                         "items": {"type": "string", "maxLength": 5000}}})),
        },
        "/api/narratives/{narrative_id}": {
            "parameters": [nid],
            "get": _op("one narrative with counts, representatives and history", 200, "NarrativeDetail", (404,)),
            "patch": _op("rename, describe, change status or triage (researcher)", 200, "NarrativeDetail",
                         (404, 409, 422), tag="write", body=_body([], {
                             "label": {"type": "string", "minLength": 1, "maxLength": 300},
                             "description": _nullable("string", maxLength=5000),
                             "status": {"enum": list(EDITABLE_STATUSES)},
                             "triage": {"enum": list(TRIAGE_STATES)}})),
        },
        "/api/narratives/{narrative_id}/timeline": {
            "parameters": [nid], "get": _op("who said it first and who followed", 200, "Timeline", (400, 404), params=[
                _q("edges", {"anyOf": [{"type": "integer", "minimum": 0, "maximum": MAX_ID},
                                       {"type": "string", "enum": ["all"]}]},
                   "heaviest actor edges to include (default 500; 'all' for every one); edges_total counts them all"),
                _q("wave", {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                   "only this wave (see the document's waves): its first mover, earlier mentions, actors with lags "
                   "behind its first mover, edges, flows and events")])},
        "/api/narratives/{narrative_id}/merge": {
            "parameters": [nid],
            "post": _op("merge this narrative into another (researcher)", 200, "NarrativeDetail", (404, 409, 422),
                        tag="write", body=_body(["into"], {"into": ID}))},
        "/api/narratives/{narrative_id}/move": {
            "parameters": [nid],
            "post": _op("move statements into another, existing narrative (researcher)", 200, "NarrativeDetail",
                        (404, 409, 422), tag="write", body=_body(["statement_ids", "into"], {
                            "statement_ids": {"type": "array", "minItems": 1, "maxItems": 10000, "items": ID},
                            "into": ID}))},
        "/api/narratives/{narrative_id}/unmerge": {
            "parameters": [nid],
            "post": _op("undo this narrative's merge; only who merged it (researcher)", 200, "NarrativeDetail",
                        (404, 409, 422), tag="write", body=_body([], {}))},
        "/api/narratives/{narrative_id}/examples": {
            "parameters": [nid],
            "put": _op("new examples for a seeded narrative, scored again (researcher)", 200, "NarrativeDetail",
                       (404, 409, 422), tag="write", body=_body(["examples"], {
                           "examples": {"type": "array", "minItems": 1, "maxItems": 200,
                                        "items": {"type": "string", "maxLength": 5000}}}))},
        "/api/narratives/{narrative_id}/split": {
            "parameters": [nid],
            "post": _op("move statements into a new narrative (researcher)", 201, "NarrativeDetail",
                        (404, 409, 422), tag="write", body=_body(["statement_ids", "label"], {
                            "statement_ids": {"type": "array", "minItems": 1, "maxItems": 10000, "items": ID},
                            "label": {"type": "string", "minLength": 1, "maxLength": 300}}))},
    }


def _statement_paths() -> dict[str, Any]:
    sid = _path("statement_id")
    return {
        "/api/statements": {
            "get": _op("statements, newest first", 200, "StatementPage", (400,), params=[
                _q("narrative", ID), _q("actor", ID, "speaker or outlet id"), COUNTRY,
                _q("language", {"type": "string", "maxLength": 12}), SINCE, UNTIL, TEXT_Q,
                _q("state", {"enum": list(STATEMENT_STATES)}), LIMIT,
                CURSOR]),
            "post": _op("add a statement by hand (researcher)", 201, "StatementDetail", (422,), tag="write",
                        ok_also=(200,), body=_body(["text"], {
                            "text": {"type": "string", "minLength": 1, "maxLength": 100000},
                            "actor": _nullable("string", maxLength=300),
                            "actor_kind": {"enum": [*ACTOR_KINDS, None]},
                            "outlet": _nullable("string", maxLength=300), "country": _nullable("string", maxLength=8),
                            "language": _nullable("string", maxLength=12),
                            "published_at": _nullable("string", format="date-time"),
                            "url": _nullable("string", format="uri", maxLength=2000),
                            "title": _nullable("string", maxLength=2000),
                            "context": _nullable("string", maxLength=20000),
                            "external_id": _nullable("string", maxLength=500)})),
        },
        "/api/statements/{statement_id}": {
            "parameters": [sid],
            "get": _op("one statement with its assignments and similar statements", 200, "StatementDetail",
                       (400, 404), params=[_q("similar", {"type": "integer", "minimum": 0, "maximum": 50},
                                              "how many similar statements (default 10)")])},
        "/api/statements/{statement_id}/assignment": {
            "parameters": [sid],
            "post": _op("confirm, reject, reassign or clear (researcher)", 200, "TagResult", (404, 422), tag="write",
                        body=_body(["action"], {"action": {"enum": list(TAG_ACTIONS)},
                                                "narrative_id": {"oneOf": [ID, {"type": "null"}]}}))},
        "/api/statements/{statement_id}/assignment/undo": {
            "parameters": [sid],
            "post": _op("put tags back as they were before an audit event (researcher)", 200, "TagResult",
                        (404, 409, 422), tag="write", body=_body(["audit_id"], {"audit_id": ID}))},
    }


def _actor_paths() -> dict[str, Any]:
    return {
        "/api/search": {
            "get": _op("semantic search: statements nearest to a text", 200, "Search", (400,), params=[
                {"name": "q", "in": "query", "required": True,
                 "schema": {"type": "string", "minLength": 1, "maxLength": 2000}},
                _q("limit", {"type": "integer", "minimum": 1, "maximum": 50})])},
        "/api/actors": {
            "get": _op("actors by name", 200, "ActorPage", (400,), params=[
                _q("q", {"type": "string", "maxLength": 200}, "name or another spelling"),
                _q("kind", {"enum": list(ACTOR_KINDS)}), COUNTRY, _q("outlet", {"type": "boolean"}), LIMIT,
                CURSOR])},
        "/api/actors/{actor_id}": {
            "parameters": [_path("actor_id")],
            "get": _op("one actor with its narratives and recent statements", 200, "ActorDetail", (404,))},
    }


def _admin_paths() -> dict[str, Any]:
    return {
        "/api/sources": {
            "get": _op("sources (admin)", 200, "SourcePage", (400,), tag="admin", params=[LIMIT, CURSOR]),
            "post": _op("add a feed, page or transcript source (admin)", 201, "Source", (422,), tag="admin",
                        body=_body(["url", "kind"], {
                            "url": {"type": "string", "maxLength": 2000}, "kind": {"enum": list(NETWORK_SOURCE_KINDS)},
                            "name": OPT, "actor": OPT, "outlet": OPT, "country": OPT, "every": OPT,
                            "fetch_full_text": _nullable("boolean")})),
        },
        "/api/sources/{source_id}": {
            "parameters": [_path("source_id")],
            "patch": _op("edit, pause, resume or reschedule a source (admin)", 200, "Source", (404, 422),
                         tag="admin", body=_body([], {
                             "enabled": _nullable("boolean"), "every": OPT, "fetch_full_text": _nullable("boolean"),
                             "country": OPT, "name": OPT, "url": OPT, "actor": OPT, "outlet": OPT})),
            "delete": _op("delete a source; its statements stay (admin)", 200, "Source", (404,), tag="admin")},
        "/api/sources/{source_id}/fetch": {
            "parameters": [_path("source_id")],
            "post": _op("fetch one source now (admin)", 200, "FetchResult", (404,), tag="admin", body=_body([], {}))},
        "/api/sources/{source_id}/fetches": {
            "parameters": [_path("source_id")],
            "get": _op("a source's fetch log, newest first (admin)", 200, "Fetches", (400, 404), tag="admin",
                       params=[_q("limit", {"type": "integer", "minimum": 1, "maximum": 200})])},
        "/api/users": {
            "get": _op("users (admin)", 200, "UserPage", (400,), tag="admin", params=[LIMIT, CURSOR]),
            "post": _op("add a user (admin)", 201, "User", (409, 422), tag="admin", body=_body(["name", "role"], {
                "name": {"type": "string", "maxLength": 100}, "role": {"enum": list(ROLES)},
                "password": _nullable("string", minLength=12, maxLength=1024)})),
        },
        "/api/users/{user_id}": {
            "parameters": [_path("user_id")],
            "patch": _op("change a user's role, password (which revokes their sessions and tokens) or disabled "
                         "flag (admin)", 200, "User", (404, 409, 422),
                         tag="admin", body=_body([], {"role": {"enum": list(ROLES)}, "disabled": _nullable("boolean"),
                                                      "password": _nullable("string", minLength=12,
                                                                            maxLength=1024)}))},
        "/api/tokens": {
            "get": _op("API tokens, newest first; never their secrets (admin)", 200, "Tokens", (400,), tag="admin",
                       params=[_q("user", ID, "only this user's tokens")])},
        "/api/tokens/{token_id}": {
            "parameters": [_path("token_id")],
            "delete": _op("revoke an API token at once (admin)", 200, "Token", (404,), tag="admin")},
        "/api/audit": {
            "get": _op("the audit trail, newest first (admin)", 200, "AuditPage", (400,), tag="admin", params=[
                _q("object_type", {"type": "string", "maxLength": 40}),
                _q("object_id", {"type": "string", "maxLength": 60}),
                _q("user", {"type": "string", "maxLength": 100}), _q("action", {"type": "string", "maxLength": 60}),
                LIMIT, CURSOR])},
    }


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Narrative tracker API", "version": __version__,
                 "description": "Narratives pushed by state officials and state media, who said them first "
                                "and who amplified them. Reads need a viewer token (or none when the "
                                "instance is public); writes a researcher or admin token."},
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                               "description": "a token from `tracker users token NAME`"}},
            "schemas": SCHEMAS,
        },
        "paths": paths(),
    }
