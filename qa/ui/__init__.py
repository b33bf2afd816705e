"""The web face: one server, three parts.

`/` is the reader's Gradio app (`reader.py`): the chat, the verdict and lead card above it, the
cited reports as cards beside it, filters. `/api/` is a plain JSON API (`api.py`) for programs,
at the engine's speed, with an OpenAPI schema. `/admin/` is the index panel (`admin.py`), behind a
login when `QA_ADMIN_PASSWORD` is set. `server.py` puts them together behind one limit on answers
in flight, request size caps, a per-client rate limit and a login throttle (`service.py`).
"""

from .admin import create_admin
from .reader import create_app
from .server import create_server, is_loopback, running, serve
from .service import Service

__all__ = ["create_app", "create_admin", "create_server", "running", "serve", "is_loopback", "Service"]
