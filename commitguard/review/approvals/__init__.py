"""Signed review approvals: statement, stores (git notes, GitHub reviews), verification."""
