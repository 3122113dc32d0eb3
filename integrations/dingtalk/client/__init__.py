"""The DingTalk Open API client (``open_api``), its typed errors (``errors``) and the event
subscription's encryption and signature (``crypto``)."""
