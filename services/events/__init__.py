"""The event log: events recorded in the transaction of a change, followed by subscriptions."""
