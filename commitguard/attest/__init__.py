"""Signed checkpoints: SLSA Source verification summaries (``attest``, ``verify-attestation``, ``[[verifier]]``)."""
