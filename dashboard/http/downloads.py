"""Open data back to citizens: what the pages show, as CSV and as GeoJSON (RFC 7946), each carrying the licence and
attribution of its sources.

Routes (Flask blueprint), the indicator ones taking the indicator page's query (metric, district, from, to):

* ``/download/stations.{csv,geojson}``: every station, counter and bike-share station with its latest reading;
* ``/download/cycle-routes.{csv,geojson}``: the cycle network by type;
* ``/download/<indicator>.{csv,geojson}``: the indicator's time series (CSV) or its stations with their mean over the
  period (GeoJSON); ``/download/<indicator>-districts.{csv,geojson}``: the district comparison.

CSV files start with ``#`` comment lines (licence, attribution, sources); GeoJSON FeatureCollections carry
``licence``, ``attribution`` and ``sources`` as foreign members (RFC 7946 section 6.1), WGS 84 lon/lat, polygons
wound counter-clockwise (right-hand rule).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

import flask
import pandas as pd
import shapely
from dash import Dash

from dashboard.context import AppContext
from dashboard.pages.home import POINT_METRIC
from dashboard.server.cache import cached
from dashboard.ui.indicators import RESOLUTION_OF, INDICATORS, frequency
from data_sources.ingest.attributes import cycle_type_of
from data_sources.ingest.types import METRICS
from data_sources.store import queries
from data_sources.store.db import utcnow
from data_sources.store.rollups import per_feature

CSV_TYPE = "text/csv; charset=utf-8"
GEOJSON_TYPE = "application/geo+json"


def provenance(sources: pd.DataFrame) -> dict:
    """Licence, attribution and source list for a download, from the sources' rows."""
    items = [
        {
            "title": r.title,
            "publisher": r.publisher,
            "licence": r.licence,
            "attribution": r.attribution,
            "url": r.url,
            "last_update": r.last_success_at.isoformat() + "Z" if pd.notna(r.last_success_at) else None,
        }
        for r in sources.itertuples()
    ]
    licences = sorted({i["licence"] for i in items if i["licence"]})
    attributions = sorted({i["attribution"] for i in items if i["attribution"]})
    return {
        "licence": "; ".join(licences) or "not stated by the publisher",
        "attribution": "; ".join(attributions),
        "sources": items,
    }


def to_csv(frame: pd.DataFrame, prov: dict, title: str) -> str:
    buf = io.StringIO()
    buf.write(f"# {title}\n")
    buf.write(f"# Licence: {prov['licence']}\n")
    if prov["attribution"]:
        buf.write(f"# Attribution: {prov['attribution']}\n")
    for s in prov["sources"]:
        buf.write(f"# Source: {' | '.join(x for x in (s['title'], s['publisher'], s['url']) if x)}\n")
    buf.write(f"# Downloaded: {utcnow().replace(microsecond=0).isoformat()}Z; times are UTC\n")
    out = frame.copy()
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = out[c].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    out.to_csv(buf, index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    return buf.getvalue()


def _rfc7946(geometry: dict) -> dict:
    """RFC 7946 geometry: counter-clockwise exteriors, 6 decimals (about 10 cm)."""
    g = shapely.from_geojson(json.dumps(geometry))
    if g.geom_type != "Point":
        g = shapely.set_precision(g, 1e-6)
    if g.geom_type in ("Polygon", "MultiPolygon"):
        g = shapely.orient_polygons(g)  # after set_precision, which may rewind rings
    return json.loads(shapely.to_geojson(g))


def to_geojson(rows: pd.DataFrame, prov: dict, title: str, geometry: str = "geometry") -> dict:
    feats = []
    for r in rows.to_dict("records"):
        geom = r.pop(geometry)
        props = {
            k: (
                v.strftime("%Y-%m-%dT%H:%M:%SZ")
                if isinstance(v, pd.Timestamp)
                else None
                if v is None or (isinstance(v, float) and pd.isna(v))
                else v
            )
            for k, v in r.items()
        }
        feats.append(
            {
                "type": "Feature",
                "id": props.get("id"),
                "geometry": _rfc7946(json.loads(geom) if isinstance(geom, str) else geom),
                "properties": props,
            }
        )
    return {"type": "FeatureCollection", "name": title, **prov, "features": feats}


def _sources_for(ctx: AppContext, layers: list[str]) -> pd.DataFrame:
    frames = [queries.layer_sources(ctx.engine, layer) for layer in layers]
    return pd.concat(frames).drop_duplicates("id") if frames else queries.sources(ctx.engine).head(0)


def stations(ctx: AppContext) -> tuple[pd.DataFrame, list[str]]:
    rows = []
    for layer, metric in POINT_METRIC.items():
        f = queries.features(ctx.engine, layer)
        t = queries.latest_time(ctx.engine, metric)
        if not len(f):
            continue
        latest = pd.DataFrame(columns=["feature_id", "time", "value"])
        if t is not None:
            obs = queries.observations(ctx.engine, metric, t - timedelta(hours=3), t)
            latest = obs.sort_values("time").groupby("feature_id").tail(1)
        f = f.merge(latest, left_on="id", right_on="feature_id", how="left")
        rows.append(
            pd.DataFrame(
                {
                    "id": f["id"],
                    "layer": layer,
                    "name": f["name"],
                    "lon": f["lon"].round(6),
                    "lat": f["lat"].round(6),
                    "metric": metric,
                    "value": f["value"],
                    "unit": METRICS.get(metric, ""),
                    "time": pd.to_datetime(f["time"]),
                    "geometry": f["geometry"],
                }
            )
        )
    return (pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()), list(POINT_METRIC)


def cycle_routes(ctx: AppContext) -> tuple[pd.DataFrame, list[str]]:
    from dashboard.ui.kpis import network_km

    f = queries.features(ctx.engine, "cycle_route")
    if not len(f):
        return pd.DataFrame(), ["cycle_route"]
    km = [network_km([shapely.from_geojson(g)]) for g in f["geometry"]]
    return pd.DataFrame(
        {
            "id": f["id"],
            "name": f["name"],
            "cycle_type": f["properties"].map(cycle_type_of),
            "length_km": [round(k, 3) for k in km],
            "geometry": f["geometry"],
        }
    ), ["cycle_route"]


def indicator_download(
    ctx: AppContext, indicator_key: str, part: str, fmt: str, args: dict
) -> tuple[pd.DataFrame, list[str], str]:
    """What the indicator page shows for the query ``args``: (rows, layers, title)."""
    from dashboard.pages.indicator import current_state, indicator_data

    st = current_state(ctx, indicator_key, args)
    data = indicator_data(ctx, indicator_key, st)
    m = data["metric"]
    title = f"{INDICATORS[indicator_key].title}: {m.label}, {st.start.isoformat()} to {st.end.isoformat()}"
    if part == "districts":
        d = data["districts"].assign(metric=m.key, unit=m.unit, start=st.start.isoformat(), end=st.end.isoformat())
        if fmt == "geojson":
            geo = queries.districts(ctx.engine)[["id", "geometry"]]
            d = (
                d.merge(geo, left_on="district_id", right_on="id")
                .drop(columns=["id"])
                .rename(columns={"district_id": "id"})
            )
        else:
            d = d.rename(columns={"district_id": "id"})
        return d, [m.layer], title + ", by district"
    if fmt == "geojson":
        obs = queries.observations_by_district(
            ctx.engine, m.key, st.since, st.until, layer=m.layer, resolution=RESOLUTION_OF[frequency(st)]
        )
        if st.district is not None:
            obs = obs[obs["district_id"] == st.district]
        means = per_feature(obs)
        f = queries.features(ctx.engine, m.layer).merge(means, left_on="id", right_on="feature_id")
        rows = pd.DataFrame(
            {
                "id": f["id"],
                "name": f["name"],
                "metric": m.key,
                "unit": m.unit,
                "mean": f["mean"].round(2),
                "max": f["max"],
                "readings": f["count"],
                "start": st.start.isoformat(),
                "end": st.end.isoformat(),
                "geometry": f["geometry"],
            }
        )
        return rows, [m.layer], title + ", per station or counter"
    s = data["series"].copy()
    if st.district is not None:
        name = queries.districts(ctx.engine).set_index("id")["name"].get(st.district, "")
        s["name"] = s["name"].map({"city": "whole city", "district": name})
    else:
        s["name"] = "whole city"
    s = s.rename(columns={"name": "area"}).assign(metric=m.key, unit=m.unit)[
        ["time", "area", "metric", "value", "unit"]
    ]
    s["value"] = s["value"].round(3)
    return s, [m.layer], title


def init_app(app: Dash, ctx: AppContext) -> None:
    bp = flask.Blueprint("citydash_downloads", __name__)

    @bp.route("/download/<name>.<fmt>")
    def download(name: str, fmt: str) -> Any:
        if fmt not in ("csv", "geojson"):
            flask.abort(404)
        args = {k: v for k, v in flask.request.args.items() if k in ("metric", "district", "from", "to")}
        if name == "stations":
            rows, layers, title = *stations(ctx), f"{ctx.city.city.name}: stations and counters, latest readings"
        elif name == "cycle-routes":
            rows, layers, title = *cycle_routes(ctx), f"{ctx.city.city.name}: cycle network"
        else:
            indicator, _, part = name.partition("-")
            if indicator not in INDICATORS or part not in ("", "districts"):
                flask.abort(404)
            rows, layers, title = indicator_download(ctx, indicator, part, fmt, args)
        prov = cached(
            ctx, "download:prov:" + ",".join(layers), lambda: provenance(_sources_for(ctx, layers)), depends="readings"
        )
        filename = f"{ctx.city.city.slug}-{name}.{fmt}"
        if fmt == "csv":
            body = to_csv(rows.drop(columns=["geometry"], errors="ignore"), prov, title)
            mime = CSV_TYPE
        else:
            body = json.dumps(
                to_geojson(rows.drop(columns=["lon", "lat"], errors="ignore"), prov, title)
                if len(rows)
                else {"type": "FeatureCollection", "name": title, **prov, "features": []},
                ensure_ascii=False,
            )
            mime = GEOJSON_TYPE
        resp = flask.Response(body, mimetype=mime.split(";")[0], content_type=mime)
        resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        resp.headers["Cache-Control"] = "public, max-age=60"
        return resp

    app.server.register_blueprint(bp)
