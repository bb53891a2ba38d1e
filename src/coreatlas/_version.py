"""The version of CoRe Atlas (one place; every layer may read it)."""

__version__ = "0.1.0"
