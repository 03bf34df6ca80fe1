"""Entry points of messaging and the loaders of what hangs off a message."""
