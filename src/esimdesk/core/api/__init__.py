"""API plumbing every app's router shares: the error shape and handlers, and the common
schemas (money, ids, pagination, refusals). Lives in core so no app imports ``api``."""
