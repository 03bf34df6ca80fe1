"""Open Channels: the runnable service (settings, ASGI app, event broker, authentication, CLI)."""
