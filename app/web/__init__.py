"""The web client: server-rendered pages, templates, static files and page strings."""
