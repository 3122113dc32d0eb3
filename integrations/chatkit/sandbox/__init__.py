"""What the platforms' sandboxes share. Only the sandboxes (and tests) import it: import-linter
keeps it out of the platforms, which ship where the sandboxes are not installed."""
