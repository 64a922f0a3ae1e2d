"""Any OpenAI-compatible ``/v1/videos`` server: its adapter, endpoints, webhooks and admin."""
