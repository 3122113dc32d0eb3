"""A test-only chat platform: proof that a platform plugs into the console through the
contract alone (``oncall.platforms``), with targets of its own on escalation levels."""
