"""Automation: the scheduler (it fires the timers of services/events/timers.py), timeouts, rating, and
the channel connectors."""
