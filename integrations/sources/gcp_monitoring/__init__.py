"""Google Cloud Monitoring alerting policies through a webhook channel; see README.md."""
