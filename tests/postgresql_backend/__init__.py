"""PostgreSQL for the test suite: Django's backend with a cheaper flush (``base.py`` says why)."""
