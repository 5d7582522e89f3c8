"""The websocket API, versioned by module."""
