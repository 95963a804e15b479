"""Monev: dashboards, map, rankings, trends and reports."""
