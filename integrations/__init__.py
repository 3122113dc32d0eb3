"""What the console plugs in: chat platforms (``feishu/``, each a Django app, listed in
``settings.CHAT_PLATFORMS``), the Feishu sandbox (``feishu_sandbox/``, installed only when
enabled) and alert sources (``sources/<kind>/``, listed in ``settings.ALERT_SOURCES``).
``chatkit/`` is the platform toolkit: what every chat platform shares, knowing none of them."""
