"""Facilitator tooling for the workshop: the starter generator and the kit check.

These scripts live outside the package on purpose: they are not part of the chat app,
they must not end up in the wheel or the API docs, and they must run from a bare
checkout with nothing but the standard library (``starter.py``).
"""
