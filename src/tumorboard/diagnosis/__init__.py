"""Molecular diagnosis: entity-defining alterations, methylation classes, concordance."""
