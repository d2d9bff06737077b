"""Errors every layer may raise. Kept apart so that config and crypto need not import
each other."""


class ConfigError(RuntimeError):
    """A setting is missing or invalid; the message names it (never a secret's value)."""
