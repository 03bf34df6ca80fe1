"""The event log: events recorded in the transaction of a change, followed by subscriptions; and
timers, the due times a change may set (fired by services/automation/scheduler.py)."""
