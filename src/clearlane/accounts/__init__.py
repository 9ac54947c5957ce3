"""Accounts: roles and their permissions, users, password hashes, API keys, sessions and the
failed-login limit. Domain only: storage is in ``services/accounts.py``."""
