#!/usr/bin/env bash
# Run one fuzz target for a bounded time: fuzz/run.sh TARGET SECONDS [libFuzzer flags...]
#   TARGET: signatures | gitsign | keyring | approvals | nix | github | nixlimits | archive | lock | rules
# The corpus grows in fuzz/corpus/TARGET (seeded on first run); crashes land in
# fuzz/artifacts/TARGET/. Not run in CI. COMMITGUARD_FUZZ_FALLBACK=1 forces the
# pure-Python mutation loop instead of atheris.
set -euo pipefail
cd "$(dirname "$0")"
target=${1:?usage: fuzz/run.sh TARGET SECONDS [libFuzzer flags...]}
seconds=${2:?usage: fuzz/run.sh TARGET SECONDS [libFuzzer flags...]}
shift 2
script="fuzz_${target}.py"
[ -f "$script" ] || { echo "unknown target $target (signatures, gitsign, keyring, approvals, nix, github, nixlimits, archive, lock, rules)" >&2; exit 2; }
mkdir -p "corpus/$target" "artifacts/$target"
exec python3 "$script" "corpus/$target" \
  -max_total_time="$seconds" -print_final_stats=1 -timeout=30 -rss_limit_mb=4096 \
  -artifact_prefix="artifacts/$target/" "$@"
