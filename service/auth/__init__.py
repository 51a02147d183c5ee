"""Partner access: API keys and their scopes, who is calling (Principal), and rate limits."""
