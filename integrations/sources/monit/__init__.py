"""Monit (tildeslash) alerts through its exec action and the console's script; see README.md."""
