"""The base of every error companion shows as one line instead of a traceback."""


class CompanionError(Exception):
    """An expected failure; its message says what happened and what to do."""
