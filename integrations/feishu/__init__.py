"""The Feishu / Lark app integration: credentials, Open API client, callbacks, sandbox."""
