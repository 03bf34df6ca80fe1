"""Automation: timers and the scheduler, timeouts, rating, and the channel connectors."""
