"""Apache SkyWalking alarm webhooks (hooks); see README.md."""
