"""Root types by domain; schema/root.py merges them into Query, Mutation and Subscription."""
