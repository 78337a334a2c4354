"""havip: a software High-Availability Virtual IP (HaVip) for Linux virtual networks."""

__version__ = "0.1.0"
