"""Narrative tracker: follow which narratives state officials and state media push, and who amplifies them."""

__version__ = "0.1.0"
