"""The Enlighten v4 cloud source: OAuth tokens, one request path, endpoints, typed answers."""
