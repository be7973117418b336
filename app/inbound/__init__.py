"""Inbound conversations (Chatwoot, Telegram): pure parsers, signature checks and matching rules."""
