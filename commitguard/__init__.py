"""commitguard: contribution-integrity checks for nixpkgs-style repositories.

The library is usable without the CLI: load a keyring with
:func:`commitguard.keyring.load_keyring` and verify history with
:func:`commitguard.verify.commits.verify_revisions`.
"""

import os as _os

# pysequoia reports errors through Rust's anyhow, which captures a full stack
# backtrace for every error when RUST_BACKTRACE is set. Verification failures
# are ordinary results here, not bugs, so we switch that capture off before the
# extension is loaded: it costs milliseconds per failed signature otherwise.
_os.environ.setdefault("RUST_LIB_BACKTRACE", "0")

__version__ = "0.1.0"
