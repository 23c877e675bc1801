"""Getting data in: what a connector returns, the connectors, HTTP sessions, units and air-quality standards."""
