"""Alembic migrations, written here and shipped inside the wheel as ``tracker.migrations``.

``tracker.db`` finds them through ``importlib.resources``, so ``tracker init`` works in an editable
checkout and in a plain ``pip install`` alike.
"""
