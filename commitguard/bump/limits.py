"""Bounds on what one audit reads: its inputs come from pull requests.

A treewide change or a huge package directory is audited up to these
bounds, and the report says where it stopped; kept together so every part
of the audit stops at the same, documented, place.
"""

MAX_PACKAGES = 300
MAX_PACKAGE_FILES = 2000
MAX_BLOB_BYTES = 2 << 20
MAX_COMMITS = 1000
MAX_ENTRIES = 20_000
MAX_PATH_DEPTH = 12
MAX_LISTED = 50
MAX_TARBALL_FILE_BYTES = 256 << 20
MAX_CHECKOUT_BYTES = 64 << 20
MAX_DIFF_LINES = 400


def listed(items: list[str]) -> str:
    """At most MAX_LISTED items, comma-separated, then how many more there are."""
    more = f" and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else ""
    return ", ".join(items[:MAX_LISTED]) + more
