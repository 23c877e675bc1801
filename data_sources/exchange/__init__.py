"""Data exchange with other systems: Open311 import, Frictionless Data Package export."""
