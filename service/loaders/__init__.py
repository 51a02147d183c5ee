"""Batch loaders: one module per relationship key; created per request, results in key order."""
