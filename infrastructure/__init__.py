"""The platform under the services: settings, the event broker and its Redis client, caches,
metrics, request ids, the database connection and file storage. Imports nothing of the
application's own packages."""
