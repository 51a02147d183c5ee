"""All SQL of the service: one module per entity group, each returning frozen ``*Row`` dataclasses."""
