"""The OpenAPI description at /api/openapi.json, and a bounded schemathesis run against the app it describes:
no server error, no response outside the description."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from data_sources.comments.api_keys import create_api_key

schemathesis = pytest.importorskip("schemathesis")

EXAMPLES_PER_OPERATION = 12
TIME_BUDGET_S = 60


def test_description_covers_both_apis(client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    paths = set(spec["paths"])
    assert {"/api/v1/sources", "/api/v1/features/{layer}", "/api/v1/observations", "/api/v1/kpis"} <= paths
    assert {
        "/open311/v2/services.{format}",
        "/open311/v2/requests.{format}",
        "/open311/v2/requests/{service_request_id}.{format}",
        "/open311/v2/discovery.{format}",
    } <= paths
    # Only routes the app serves are described (the heatmap appears when the feedback blueprint is installed).
    rules = {r.rule.replace("<", "{").replace(">", "}") for r in client.application.url_map.iter_rules()}
    for p in paths:
        flask_form = (
            p.replace("{format}", "{fmt}")
            .replace("{service_code}", "{code}")
            .replace("{service_request_id}", "{request_id}")
        )
        assert flask_form in rules or flask_form.rstrip("/") in rules, p


def test_schemathesis_finds_no_server_error_and_no_schema_violation(live_server, demo_engine):
    from schemathesis.checks import (
        content_type_conformance,
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
    key = create_api_key(demo_engine, "schemathesis")
    # Over real HTTP on loopback, as clients see it (compression and all).
    schema = schemathesis.openapi.from_url(f"{live_server}/api/openapi.json")
    deadline = time.monotonic() + TIME_BUDGET_S
    ran = []
    for result in schema.get_all_operations():
        op = result.ok()

        @given(case=op.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case):  # noqa: ANN001
            if time.monotonic() > deadline:
                return
            if case.method == "POST" and isinstance(case.body, dict):
                case.body = {**case.body, "api_key": key}  # also exercise the accepted path, not only the 403
            case.call_and_validate(checks=checks)
            ran.append(op.label)

        run()
    assert len(set(ran)) >= 12, sorted(set(ran))  # every operation was exercised within the budget
