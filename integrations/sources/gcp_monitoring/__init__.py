"""Google Cloud Monitoring alerting policies through a webhook notification channel; see README.md."""
