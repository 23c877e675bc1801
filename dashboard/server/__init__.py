"""Server plumbing: officials' login and role checks, rate limits, caching, security headers, health."""
