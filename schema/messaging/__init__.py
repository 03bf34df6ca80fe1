"""GraphQL types and root fields of messaging."""
