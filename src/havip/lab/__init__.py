"""havip.lab."""
