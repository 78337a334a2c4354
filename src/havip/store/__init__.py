"""havip.store."""
