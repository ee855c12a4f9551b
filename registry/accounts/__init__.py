"""Accounts: who people are and what they may do (log-ins, sessions, roles, consent, signed links), the mail
they receive through the durable outbox, and the audit trail of who changed what."""
