"""The DingTalk custom robot's message format as an alert source; see README.md."""
