"""A local stand-in for the DingTalk Open Platform: app credentials, the access-token API, groups
with the cool app, and encrypted, signed event pushes to the console (``push``), from its pages
(``pages``) and ``manage.py dingtalk_sandbox_seed``."""
