"""Scale-out tests: PostgreSQL, the Redis broker and presence, several server processes."""
