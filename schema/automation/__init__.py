"""GraphQL types and root fields of automation: rating and connectors."""
