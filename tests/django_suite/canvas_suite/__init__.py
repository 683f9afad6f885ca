"""Runs Django's own test suite with canvas_core wired (``nox -s django_suite``; see ``noxfile.py``).

``settings`` extends the suite's own SQLite settings (or points them at
PostgreSQL), ``apps`` registers catch-all handlers of the six record events
and counts what they received, ``runner`` writes each test's outcome to a
JSON file that the nox session compares with a run without canvas_core.
"""
