"""What both HospiAI services need: the scope catalogue, settings helpers, token-safe logging."""
