"""The domain: every state change happens here, in one transaction, with its authorisation
check and its events. No GraphQL here: the same functions serve the API, the CLI and tests."""
