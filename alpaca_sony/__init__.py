"""alpaca-sony: an ASCOM Alpaca camera server for Sony Alpha bodies on USB."""

__version__ = "0.1.0"
