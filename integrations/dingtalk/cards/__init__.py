"""Incident cards through a DingTalk app: what they show (``render``), their body's template
medium (``body``) and delivering and updating them (``delivery``)."""
