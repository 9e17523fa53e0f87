"""The registry: patients, diagnoses, samples, assays and findings in SQL."""
