"""Sisir (family worklists, pathways, PBI budget)."""
