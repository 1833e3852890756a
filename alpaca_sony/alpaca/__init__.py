"""The Alpaca API layer: the only package that imports falcon."""
