"""Curated knowledge: catalogues and (later) therapy rules, each entry with its citation."""
