"""``python -m havip`` runs the ``havip`` command (used by the lab to start its children)."""

from havip.cli.main import app

app()
