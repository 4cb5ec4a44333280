"""Package expressions mapped to their upstream sources, and the upstream's own signatures."""
