"""Entry points of automation: rating and the connector registry."""
