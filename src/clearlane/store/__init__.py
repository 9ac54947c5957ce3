"""Workspace store: an embedded DuckDB database and model artifacts in one folder."""

from clearlane.store.workspace import Workspace

__all__ = ["Workspace"]
