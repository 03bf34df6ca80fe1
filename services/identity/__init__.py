"""Who is calling: viewers, tokens, their revocation, and the trusted documents they may run."""
