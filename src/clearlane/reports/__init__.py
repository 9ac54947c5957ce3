"""Reports: self-contained HTML pages rendered from immutable results."""
