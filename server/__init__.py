"""selfserve: a self-hostable, embeddable customer portal server."""

__version__ = "0.1.0"
