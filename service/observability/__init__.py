"""Operating the service: Prometheus metrics, structured logs, request ids and traces."""
