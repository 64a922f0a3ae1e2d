"""fal.ai's queue API for hosted video models, driven through the official ``fal-client``."""
