"""Feedback storage: everything the companion learns from.

- ``feedback.models``: the SQLModel schema (conversation trees, candidates, ratings, choices,
  safety events, preference pairs, training runs, adapter versions).
- ``feedback.db``: ``make_engine(url)``, ``migrate(engine, backup_dir)``, ``backup``.
- ``feedback.repo``: ``Store``, the only way the app, engine and align read or write data;
  ``open_store(url, backup_dir=...)`` builds, migrates and recovers one in a call.
- ``feedback.store``: the parts ``Store`` is assembled from, one module per concern.
- ``feedback.transfer``: export (JSONL, Markdown), import, forget.
- Its commands (``companion db``, ``export``, ``import``, ``forget``) are in ``companion.cli.data``.

Nothing is imported here, so ``import feedback`` stays free.
"""
