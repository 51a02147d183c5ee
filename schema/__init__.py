"""The GraphQL surface of ConnectGraph (strawberry): types, resolvers, limits. No SQL, no asyncpg."""
