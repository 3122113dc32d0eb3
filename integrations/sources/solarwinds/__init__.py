"""SolarWinds Platform (Orion) alerts through an HTTP POST action; see README.md."""
