"""companion: a terminal AI companion that learns from the person who talks to it."""

__version__ = "0.1.0"
