"""Server-side rendering of a page's Dash layout to static HTML, for the first paint.

Dash draws a page only after its JavaScript has loaded and two requests have come back; on a mid-range phone
that is seconds. dashboard/http/frontend.py puts this static copy of the same layout in the HTML page, so the KPI
text shows at once; assets/citydash.js removes it when Dash has drawn the live page in its place.

Like React, this escapes every text and attribute value (markupsafe), drops event-handler attributes and
``javascript:`` URLs, and renders only html.* components plus a few dcc controls as inert look-alikes; anything
else (graphs, stores) becomes an empty box of the same class, so the layout does not jump.
"""

from __future__ import annotations

from typing import Any

from dash.development.base_component import Component
from markupsafe import escape

from dashboard.ui.components import FIRST_PAINT_CHILDREN

VOID = {"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
RENAME = {
    "className": "class",
    "htmlFor": "for",
    "hrefLang": "hreflang",
    "tabIndex": "tabindex",
    "colSpan": "colspan",
    "rowSpan": "rowspan",
    "accessKey": "accesskey",
    "contentEditable": "contenteditable",
    "spellCheck": "spellcheck",
}
SKIP = {"children", "n_clicks", "n_clicks_timestamp", "disable_n_clicks", "loading_state", "key", "setProps", "style"}
BOOLEAN = {"hidden", "open", "disabled", "checked", "required", "download", "selected"}
TAGS = {"ObjectEl": "object", "MapEl": "map"}


def _css(style: dict) -> str:
    def prop(k: str) -> str:
        return "".join("-" + c.lower() if c.isupper() else c for c in k)

    return "; ".join(f"{prop(k)}: {v}" for k, v in style.items())


def _attrs(props: dict) -> str:
    out = []
    for k, v in props.items():
        if k in SKIP or v is None or v is False or k.startswith("on"):
            continue
        name = RENAME.get(k, k)
        if k in BOOLEAN or v is True:
            if v:
                out.append(f" {name}" if v is True else f' {name}="{escape(v)}"')
            continue
        if k in ("href", "src") and str(v).strip().lower().startswith(("javascript:", "data:", "vbscript:")):
            continue
        out.append(f' {name}="{escape(v)}"')
    if props.get("style"):
        out.append(f' style="{escape(_css(props["style"]))}"')
    return "".join(out)


def _options(props: dict, multi: bool) -> str:
    """Checklist / RadioItems as real but inert inputs with their labels."""
    value = props.get("value")
    chosen = set(value if isinstance(value, list) else [value])
    kind = "checkbox" if multi else "radio"
    items = []
    for o in props.get("options") or []:
        o = o if isinstance(o, dict) else {"label": o, "value": o}
        checked = " checked" if o.get("value") in chosen else ""
        items.append(
            f'<label class="{escape(props.get("labelClassName", ""))}"><input type="{kind}" disabled{checked} '
            f'class="{escape(props.get("inputClassName", ""))}"> {to_html(o.get("label"))}</label>'
        )
    return f'<div class="{escape(props.get("className", ""))}">{"".join(items)}</div>'


def to_html(node: Any) -> str:
    if node is None or isinstance(node, bool):
        return ""
    if isinstance(node, (str, int, float)):
        return str(escape(str(node)))
    if isinstance(node, (list, tuple)):
        return "".join(to_html(n) for n in node)
    if not isinstance(node, Component):
        return ""
    props = {k: v for k, v in node.to_plotly_json()["props"].items() if v is not None}  # includes aria-* and data-*
    ns, kind = node._namespace, node._type
    if ns == "dash_html_components":
        tag = TAGS.get(kind, kind.lower())
        if tag in VOID:
            return f"<{tag}{_attrs(props)}>"
        children = node.__dict__.get(FIRST_PAINT_CHILDREN, props.get("children"))  # ui.components.first_paint_only
        return f"<{tag}{_attrs(props)}>{to_html(children)}</{tag}>"
    if ns == "dash_core_components":
        if kind in ("Checklist", "RadioItems"):
            return _options(props, multi=kind == "Checklist")
        if kind == "Input":
            return f'<input type="{escape(props.get("type", "text"))}" value="{escape(props.get("value", ""))}" disabled class="{escape(props.get("className", ""))}">'
        if kind in ("Store", "Location", "Interval"):
            return ""
    # Graphs, dropdowns and anything else: an empty box of the same class keeps the layout in place.
    return f'<div class="{escape(props.get("className", ""))}"></div>'
