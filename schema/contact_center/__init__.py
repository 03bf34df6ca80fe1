"""GraphQL types and root fields of the contact center: conversations, statistics, CRM, sales."""
