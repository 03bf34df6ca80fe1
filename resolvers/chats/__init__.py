"""Entry points of chats: queries, mutations and subscriptions of the core, and their loaders."""
