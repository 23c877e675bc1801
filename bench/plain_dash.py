"""The reference page for bench/pages_speed.py: a plain Dash page as the framework's documentation would write it,
four KPI cards and one density map, with ``Dash(compress=True)`` and nothing else tuned (../shared/tools/README.md
measured it at Lighthouse mobile 0.58-0.60 and 1.77 MB).

Usage: python bench/plain_dash.py [--port 8060]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import plotly.express as px
from dash import Dash, dcc, html


def make_app() -> Dash:
    rng = np.random.default_rng(7)
    points = pd.DataFrame(
        {
            "lat": 48.52 + rng.normal(0, 0.02, 2000),
            "lon": 9.05 + rng.normal(0, 0.03, 2000),
            "value": rng.gamma(2.0, 10.0, 2000),
        }
    )
    fig = px.density_map(points, lat="lat", lon="lon", z="value", radius=12, zoom=11, map_style="white-bg")
    app = Dash(__name__, compress=True, title="Plain Dash page")
    cards = [
        html.Div([html.H3(title), html.P(value)], className="card")
        for title, value in (
            ("Air quality now", "Good (PM2.5 8 µg/m³)"),
            ("Traffic now", "1,240 vehicles per hour"),
            ("Cycling", "3,410 trips today"),
            ("Citizens' comments", "57 this week"),
        )
    ]
    app.layout = html.Div(
        [html.H1("How is the city doing today?"), html.Div(cards), dcc.Graph(figure=fig, id="map")], lang="en"
    )
    return app


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8060)
    args = ap.parse_args()
    make_app().run(host="127.0.0.1", port=args.port, debug=False)


if __name__ == "__main__":
    main()
