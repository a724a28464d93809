"""Placeholder: the assets app arrives with its own issue."""
