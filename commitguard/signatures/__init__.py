"""Signature schemes: one module per scheme behind :mod:`.interface`."""
