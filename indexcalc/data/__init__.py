"""Market data layer: instrument models, importers, validation, embedded market (docs/design.md section 1)."""
