#!/usr/bin/env nix-shell
#!nix-shell -i bash -p curl jq nix-prefetch-github
# Writes the newest release's version and hashes into hashes.json.
set -euo pipefail
