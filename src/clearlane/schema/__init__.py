"""Canonical declaration model, value types and risk-result types."""
