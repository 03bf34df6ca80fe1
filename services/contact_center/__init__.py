"""The contact center: conversations, search, statistics, the CRM and sales in the chat."""
