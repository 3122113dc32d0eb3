"""Cisco Meraki webhooks (the "Meraki (included)" payload template); see README.md."""
