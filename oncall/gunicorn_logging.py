"""gunicorn's logger with secrets redacted (push tokens in access-log URLs, credentials in a
custom access-log format's headers). ``gunicorn.conf.py`` at the top of the checkout names it,
and gunicorn reads that file from its working directory by default.

gunicorn's master process never loads Django, and its access and error loggers do not
propagate to the root logger, so Django's ``LOGGING_CONFIG`` reaches neither: this class
installs the same record-level redaction (``oncall.logfilters``) in every gunicorn process.
"""

from __future__ import annotations

from gunicorn.config import Config
from gunicorn.glogging import Logger

from oncall import logfilters


class RedactingLogger(Logger):
    def setup(self, cfg: Config) -> None:
        logfilters.install()
        super().setup(cfg)
