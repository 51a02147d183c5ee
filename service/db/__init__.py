"""Database access: the connection pool, transactions and the embedded PostgreSQL starter."""
