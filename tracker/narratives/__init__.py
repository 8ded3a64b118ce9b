"""Narratives: discover clusters of statements, describe them, and assign new statements."""
