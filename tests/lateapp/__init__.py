"""An app installed only by a test, after start-up (``override_settings(INSTALLED_APPS=...)``)."""
