"""The web admin, members' self-service, autoconfig and monitoring pages (Starlette +
Jinja2 on uvicorn, inside the host's event loop)."""
