"""All git access: revision walks, the per-commit path index, commit objects
read once, and tree/blob reads."""
