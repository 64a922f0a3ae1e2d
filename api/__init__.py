"""The studio's own API: ``/v1/videos`` in the OpenAI Videos protocol, API keys, rate limits,
idempotent creates and outgoing webhooks signed in the Standard Webhooks scheme."""
