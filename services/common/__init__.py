"""What every domain's use cases share: errors, pagination, rows of hand-written statements, text input."""
