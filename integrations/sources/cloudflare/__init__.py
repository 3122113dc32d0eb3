"""Cloudflare notifications through a generic webhook destination; see README.md."""
