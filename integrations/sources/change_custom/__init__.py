"""The custom change event protocol: your own systems push changes; see README.md."""
