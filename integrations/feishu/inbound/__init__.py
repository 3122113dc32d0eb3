"""What Feishu sends the console, from the callback URL to the handler that acts on it.

``endpoint`` is the view: ``callbacks`` authenticates, decrypts and classifies the body; an event
goes to ``events`` (chat membership, and messages, which ``chat_commands`` answers with the
``incident_commands``); a card button click is read by ``card_actions`` and handled by
``incident_buttons``. ``identity`` says who a Feishu user is in the console.
"""
