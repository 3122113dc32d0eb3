"""AWS CloudWatch alarms (and other notifications) through an Amazon SNS topic; see README.md."""
