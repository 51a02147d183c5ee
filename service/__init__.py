"""ConnectGraph: the running service (HTTP app, database access, auth, ingest). Never imports strawberry."""
