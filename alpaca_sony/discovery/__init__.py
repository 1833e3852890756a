"""Discovery layer: the Alpaca UDP responder and an optional mDNS advertisement."""
