"""havip.client."""
