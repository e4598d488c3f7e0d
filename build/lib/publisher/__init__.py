"""publisher: RSS, Atom and JSON feeds and MJML email digests from a SQLite article store."""

__version__ = "0.1.0"
