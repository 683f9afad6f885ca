"""A Django app whose ``handlers`` module registers the background handlers of the Django worker tests."""
