"""Test-only helpers (benchmarks may import them too)."""
