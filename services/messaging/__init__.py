"""Messaging: writing messages and what operators do with them (edits, files, formatting, GIFs,
canned responses, tasks, the feed, chats started from a message)."""
