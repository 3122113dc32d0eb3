"""ManageEngine OpManager "Invoke a Webhook" notification profiles; see README.md."""
