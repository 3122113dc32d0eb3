"""gunicorn settings read from the working directory by default (``gunicorn oncall.wsgi``
run from the checkout, as the README's production commands are). Command-line options still
apply on top; with ``--config`` another file, keep this ``logger_class`` in it."""

# Access-log lines carry URLs, and push URLs carry a source's secret token: redact them.
logger_class = "oncall.gunicorn_logging.RedactingLogger"
