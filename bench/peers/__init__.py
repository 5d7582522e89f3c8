"""Reference servers for the fan-out benchmark: the same broadcast, with less machinery."""
