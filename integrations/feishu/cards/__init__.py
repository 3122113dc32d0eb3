"""Incident cards: ``render`` builds an incident's card, ``render_cache`` keeps it rendered once
per change, ``delivery`` sends it and keeps every sent copy current, and ``sample`` is the
admin's test card."""
