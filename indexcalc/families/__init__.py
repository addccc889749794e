"""Index families: each exposes compute_<kind>(specs, market, series, collateral) -> dict[str, IndexResult]."""
