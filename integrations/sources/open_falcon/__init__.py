"""Open-Falcon alarm callbacks; see README.md."""
