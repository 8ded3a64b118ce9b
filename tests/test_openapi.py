"""The OpenAPI document matches the API: schemathesis drives every operation with viewer and researcher
tokens and checks no 5xx, documented status codes, JSON content types and response schemas.

Examples per operation are kept small (``EXAMPLES``) so the suite stays fast; raise it locally
(``TRACKER_SCHEMATHESIS_EXAMPLES=200``) for a deeper run.
"""

from __future__ import annotations

import os
import re

import pytest
from flask import Flask

from tests.webdata import make_app, seed
from tracker.config import Config
from tracker.db import Database

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.specs.openapi import checks  # noqa: E402

EXAMPLES = int(os.environ.get("TRACKER_SCHEMATHESIS_EXAMPLES", "15"))
CHECKS = [checks.status_code_conformance, checks.content_type_conformance, checks.response_schema_conformance]


def not_a_server_error(ctx, response, case) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text}"


@pytest.fixture
def app(config: Config, db: Database) -> Flask:
    return make_app(config, db)


def test_document_is_openapi_3_1_and_lists_every_api_route(app: Flask) -> None:
    doc = app.test_client().get("/api/openapi.json").json
    assert doc["openapi"] == "3.1.0"
    documented = {(path, method.upper()) for path, item in doc["paths"].items() for method in item
                  if method != "parameters"}
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = re.sub(r"<[^:>]+(?:\([^)]*\))?:(\w+)>", r"{\1}", rule.rule)
            served |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}  # type: ignore[operator]
    assert documented == served


def test_document_is_valid_openapi(app: Flask) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20


@pytest.mark.parametrize("role", ["viewer", "researcher"])
def test_schemathesis_finds_no_server_errors_and_responses_match(app: Flask, db: Database, config: Config,
                                                                  role: str) -> None:
    data = seed(db, config)
    # Its WSGI transport asks for gzip but does not decode it (HTTP clients do; test_api checks gzip).
    headers = {"Authorization": f"Bearer {data.tokens[role]}", "Accept-Encoding": "identity"}
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case) -> None:  # type: ignore[no-untyped-def]
            case.call_and_validate(headers=headers, checks=[not_a_server_error, *CHECKS])

        try:
            run()
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure, then report them together
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:3000])
    assert not failures, "\n\n".join(failures)
