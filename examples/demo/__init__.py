"""A guided tour of canvas-core, run by ``python3 run.py demo``.

Each section prints what it does and what happened. It needs no service: the
database is SQLite in a temporary folder.
"""
