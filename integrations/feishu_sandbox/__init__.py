"""A local stand-in for the Feishu / Lark Open Platform (see the package's views for the API)."""
