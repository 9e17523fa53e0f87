"""Layer analyses: pure functions from cohort tables and parameters to findings tables."""
