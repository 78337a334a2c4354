"""havip.agent."""
