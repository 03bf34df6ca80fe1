"""Who may see or do what: one policy per entity, used by every read, statement, subscription and export."""
