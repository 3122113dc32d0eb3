"""Feishu / Lark as a chat platform of the console (``integrations.feishu.platform``): apps and
their credentials, the Open API client, callbacks, cards, account linking, the sandbox."""

# The platform's name: its key in the registry and the timeline's source for what people do
# from Feishu.
PLATFORM_NAME = "feishu"
