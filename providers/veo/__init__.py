"""Google Veo on Vertex AI, driven through the official ``google-genai`` SDK."""
