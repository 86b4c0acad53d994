"""Google Sheets: credentials, one request path, request bodies, the yearly push and --init."""
