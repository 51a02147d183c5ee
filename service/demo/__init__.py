"""The demo data set (real reference data, illustrative figures) and the benchmark-scale generator."""
