"""Azure Monitor alerts in the common alert schema, through an action group's webhook; see
README.md."""
