"""Market data layer: instrument models, importers, validation, embedded market (DESIGN.md s1)."""
