"""Reports: patient summary pages now; the MTB report comes with the recommendation engine."""
