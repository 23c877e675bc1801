"""HTTP endpoints besides Dash callbacks: the HTML page, APIs (indicators, Open311, OpenAPI), feeds, downloads."""
