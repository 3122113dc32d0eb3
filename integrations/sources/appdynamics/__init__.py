"""AppDynamics alerts through an HTTP request template; see README.md."""
