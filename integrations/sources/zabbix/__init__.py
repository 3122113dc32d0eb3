"""Zabbix's webhook media type, with the script the user pastes into Zabbix; see README.md."""
