"""Delivery: finishing (watermarks, Content Credentials, poster), the one rule for which file
a viewer gets (``finishing.served_file``), serving it, and Verify."""
