"""havip.contract."""
