"""Database access: the connection pool (asyncpg connections), transactions and the embedded PostgreSQL starter."""
