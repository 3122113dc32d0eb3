"""Stream mode (Stream 模式): DingTalk delivers the app's events over a WebSocket the console
opens, so the console needs no public URL. ``connection`` holds one app's connection with the
official ``dingtalk-stream`` SDK, ``events`` accepts what arrives (the HTTP push's handlers, its
receipts), ``supervisor`` keeps one connection per app in Stream mode; ``manage.py
dingtalk_connect`` runs it."""
