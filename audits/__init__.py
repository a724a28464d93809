"""Placeholder: the audits app arrives with its own issue."""
