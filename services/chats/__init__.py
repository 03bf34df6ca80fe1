"""Chats: their lifecycle, queues and offers, operators, open channels, the visitor's side."""
