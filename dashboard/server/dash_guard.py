"""Malformed requests get a 400 with a short reason, never a 500: checks at the boundary, before any view runs.

* JSON bodies: Python's decoder recurses, so a body nested 100,000 deep raised RecursionError (a 500) wherever
  a view parsed it. Our JSON provider reports that as invalid JSON: ``get_json()`` answers 400 (Flask's own
  handling of bad JSON), ``get_json(silent=True)`` gives None. Parsed bodies deeper than ``MAX_DEPTH`` are
  refused as well (nothing we serve nests that deep, and deeper values would recurse again later).
* ``/_dash-update-component``: Dash trusts the body's shape (a missing ``outputs``, a clientside callback's
  output, inputs of the wrong number or type each raised inside Dash). The body is checked with pydantic
  against the callback it names: a server-side callback of this app, ``outputs``, ``inputs`` and ``state`` of
  the shape and length it declares. What the values are is each callback's business (they validate them).

This runs before every other request hook (it is the second extension, after the rate limiter whose hook only
applies to blueprints), so the officials' role check reads a body already known to be well formed. A genuine
server bug is not caught here: it stays a 500, logged with its traceback.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import flask
from flask.json.provider import DefaultJSONProvider
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

if TYPE_CHECKING:  # dashboard.app imports this module through EXTENSIONS
    from dash import Dash

    from dashboard.context import AppContext

MAX_DEPTH = 64


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, with nesting too deep for the decoder reported as the invalid input it is."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            value = json.loads(s, **kwargs)
        except RecursionError:
            raise ValueError(f"JSON nested more than {MAX_DEPTH} levels deep") from None
        if depth(value) > MAX_DEPTH:
            raise ValueError(f"JSON nested more than {MAX_DEPTH} levels deep")
        return value


def depth(value: object, limit: int = MAX_DEPTH + 1) -> int:
    """How deeply lists and objects nest in ``value`` (a scalar is 0), counted up to ``limit`` without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, (list, dict)):
            d += 1
            if d > deepest:
                deepest = d
                if deepest >= limit:
                    return deepest
            stack.extend((x, d) for x in (v.values() if isinstance(v, dict) else v))
    return deepest


class PropRef(BaseModel):
    model_config = ConfigDict(extra="allow")  # Dash's renderer adds fields (e.g. "value") we do not check here
    id: StrictStr | dict[str, Any]
    property: StrictStr


class DashRequest(BaseModel):
    """The body Dash's renderer posts; ``outputs`` is required (renderers older than Dash 1.11 are not served)."""

    model_config = ConfigDict(extra="allow")
    output: StrictStr
    outputs: PropRef | list[PropRef | list[PropRef]]
    inputs: list[PropRef | list[PropRef]]
    state: list[PropRef | list[PropRef]] = Field(default_factory=list)
    changedPropIds: list[StrictStr] = Field(default_factory=list)


class BadDashRequest(ValueError):
    pass


def _matches(sent: PropRef | list[PropRef], declared: dict[str, str]) -> bool:
    """A sent input against its declaration: the same id and property, or, for a pattern-matching id (declared
    as JSON), a list of ids of the same ``type`` (ALL/ALLSMALLER) or one such id (MATCH)."""
    cid = declared["id"]
    if cid.startswith("{"):
        pattern = json.loads(cid)
        items = sent if isinstance(sent, list) else [sent]
        return all(
            isinstance(i.id, dict)
            and all(i.id.get(k) == v for k, v in pattern.items() if not isinstance(v, list))
            and i.property == declared["property"]
            for i in items
        )
    return not isinstance(sent, list) and sent.id == cid and sent.property == declared["property"]


def check_dash_request(body: object, callback_map: dict[str, dict]) -> DashRequest:
    """The body as a DashRequest for one of this app's server-side callbacks; BadDashRequest with the reason."""
    if not isinstance(body, dict):
        raise BadDashRequest("a callback request is a JSON object")
    try:
        req = DashRequest.model_validate(body)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"][:2])
        raise BadDashRequest(f"{where}: {first['msg']}") from None
    spec = callback_map.get(req.output)
    if spec is None or "callback" not in spec:
        raise BadDashRequest("no such server-side callback")
    for name, sent, declared in (("inputs", req.inputs, spec["inputs"]), ("state", req.state, spec["state"])):
        if len(sent) != len(declared) or not all(_matches(s, d) for s, d in zip(sent, declared)):
            raise BadDashRequest(f"{name} do not match the callback")
    n_out = req.output.count("...") + 1 if req.output.startswith("..") else None
    if n_out is not None and (not isinstance(req.outputs, list) or len(req.outputs) != n_out):
        raise BadDashRequest("outputs do not match the callback")
    if n_out is None and not req.output.startswith("{") and not isinstance(req.outputs, PropRef):
        raise BadDashRequest("outputs do not match the callback")
    return req


def init_app(app: Dash, ctx: AppContext) -> None:
    server = app.server
    server.json = BoundedJSONProvider(server)
    dash_update = app.config.requests_pathname_prefix + "_dash-update-component"

    def refuse_malformed_dash_request() -> flask.Response | None:
        if flask.request.path != dash_update or flask.request.method != "POST":
            return None
        try:
            check_dash_request(flask.request.get_json(silent=True, cache=True), app.callback_map)
        except BadDashRequest as e:
            return flask.Response(
                json.dumps({"error": f"Bad callback request: {e}"}),
                status=400,
                mimetype="application/json",
                headers={"Cache-Control": "no-store"},
            )
        return None

    # First of the request hooks (see the module's note): Flask runs them in order.
    server.before_request_funcs.setdefault(None, []).insert(0, refuse_malformed_dash_request)
