"""Ingest: readers, column-mapping profiles, validation, quarantine and data-quality checks."""
