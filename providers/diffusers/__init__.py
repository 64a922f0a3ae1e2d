"""Open-weights video models on the studio's own GPU workers, through Celery and Redis."""
