"""Output formats: one module per format behind :mod:`.interface`."""

from commitguard.output.interface import Formatter, formatter_for

__all__ = ["Formatter", "formatter_for"]
