"""What every hosted (API-key) video backend shares: its account settings, the record of
each create sent (kept in the database, where every worker on every machine sees it), the
sorting of HTTP failures, the poll schedule, downloads and the base adapter class."""
