"""havip.cli."""
