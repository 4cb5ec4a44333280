"""Hash-altering fetcher arguments a change adds: the bump's new hash may name other bytes.

A version bump changes the version and the hashes. An argument such as
``postFetch``, ``leaveDotGit`` or ``stripRoot = false`` added beside them
makes the new hash the hash of something upstream did not sign (a script's
output, a tree with ``.git``), and upstream's signature then vouches for
nothing the package builds (:mod:`commitguard.upstream.binding`). The pull
request's author writes these arguments, so adding or changing one is a
high-severity finding, whatever the upstream evidence says.
"""

from __future__ import annotations

from commitguard.model.sources import FetcherCall
from commitguard.upstream.binding import HASH_ALTERING_ARGS, altering_args

def _short(value, limit: int = 60) -> str:
    text = repr(value) if not isinstance(value, str) else value
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def added_altering_arguments(old: FetcherCall, new: FetcherCall) -> list[str]:
    """One message per hash-altering argument of ``new`` that ``old`` did not set to the same value,
    including one ``new`` sets to a value that cannot be read statically."""
    before, after = altering_args(old.args), altering_args(new.args)
    messages = []
    for name in HASH_ALTERING_ARGS:
        if name in after:
            if name not in before:
                messages.append(f"src now sets {name} = {_short(after[name])}")
            elif before[name] != after[name]:
                messages.append(f"src changes {name} ({_short(before[name])} -> {_short(after[name])})")
        elif name in new.unresolved and name not in old.unresolved:
            messages.append(f"src now sets {name} to a value that cannot be read statically")
    return messages
