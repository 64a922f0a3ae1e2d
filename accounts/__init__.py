"""Accounts: plans (what a creator may do), creators' accounts and the lock that makes
quota counting safe, sign-up (open, invite-only, waitlist), and the plan on Django's user page."""
