"""Zilliz Cloud project alerts through the webhook alert channel; see README.md."""
