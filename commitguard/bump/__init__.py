"""Checks of ``audit-bump`` kept out of :mod:`commitguard.audit_bump` (which is long enough)."""
