"""Fraud model, anomaly detector, reasons, persistence and model registry."""
