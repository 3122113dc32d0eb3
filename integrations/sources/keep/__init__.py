"""Keep (keephq) workflows posting alerts through the webhook provider; see README.md."""
