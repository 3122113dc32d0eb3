"""Real user monitoring (RUM) Issue alerts, modelled on Flashduty RUM; see README.md."""
