"""Business rules. Never imports flask, rq or an HTTP client; the caller owns the transaction."""
