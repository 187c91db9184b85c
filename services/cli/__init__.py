"""Command-line tools for officials' bulk work, over the services' HTTP APIs (``python -m services.cli``)."""
