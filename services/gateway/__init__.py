"""A fake carrier SMS gateway and WeChat template-message API, for development and demos."""
