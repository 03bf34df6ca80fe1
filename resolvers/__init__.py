"""Thin GraphQL entry points: read the viewer and input, call a service, map the result."""
