"""Amazon EventBridge events (API destination, or relayed by an SNS topic); see README.md."""
