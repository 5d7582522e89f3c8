"""The HTTP API (JSON over HTTP), versioned by module."""
