"""The only layer that reads settings and builds clients: the daily job, authorize, check."""
