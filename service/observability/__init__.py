"""Operating the service: Prometheus metrics, structured logs, request ids, traces and the soak script."""
