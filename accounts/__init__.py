"""Accounts: plans (what a creator may do), creators' accounts and the lock that makes
quota counting safe, sign-up, and the plan on Django's user page."""
