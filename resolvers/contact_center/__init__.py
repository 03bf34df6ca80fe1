"""Entry points of the contact center: conversations, CRM, sales, and their loaders."""
