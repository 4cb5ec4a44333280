"""Static reading of Nix expressions with tree-sitter-nix (no Nix needed)."""
