"""havip.api."""
