"""ElastAlert 2 alerts (its post2 and flashduty alerters); see README.md."""
