"""The domain model: frozen dataclasses only (verdicts, sources)."""
