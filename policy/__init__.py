"""The content policy: the operator's rules (blocked words and phrases, regular
expressions, per-language lists), an optional OpenAI-compatible moderation endpoint, and a
face check for uploads and references; every refusal is logged with its stage and rule.

Generations call ``policy.checks`` before a job is queued; this app imports nothing above
it."""
