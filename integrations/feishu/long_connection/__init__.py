"""Long-connection mode (长连接): Feishu's events and new-format card callbacks reach the console
over a WebSocket the console opens to Feishu, so a console behind a firewall needs no public
callback URL.

``manage.py feishu_connect`` runs ``supervisor.Supervisor``: one official-SDK client
(``lark_oapi.ws.Client``, ``client``) per enabled app in long-connection mode, each in a thread
of its own, feeding the same handler as the request URLs (``bridge`` ->
``inbound.endpoint.answer``), recording a heartbeat per app (``ConnectionHeartbeat``) that the
admin page and the API show (``status``).
"""
