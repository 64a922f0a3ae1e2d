"""The generations app: prompts, assets, jobs, videos and the providers that make them."""
