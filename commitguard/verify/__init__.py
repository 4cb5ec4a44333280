"""Commit verification: signatures judged against a keyring (user-curated or
kept in the repository), with a cache keyed by keyring and commit."""
