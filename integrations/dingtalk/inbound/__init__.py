"""What DingTalk sends the console: event pushes to the request URL (``endpoint``, ``push``)
and what the console does with each event (``events``)."""
