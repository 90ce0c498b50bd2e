"""The web inbox and JSON API (``trustladder serve``): FastAPI over ``supervisor.Supervisor``.

Server-rendered pages for reviewers (queue, approval packet, batch approval, ladder, audit trail,
standing approvals) and a bearer-token JSON API under ``/api`` for agents. Needs the ``web``
extra: ``pip install 'trustladder[web]'``.
"""

from __future__ import annotations

from integrations.web.app import create_app as create_app
from integrations.web.config import ServeConfig as ServeConfig
from integrations.web.config import hash_password as hash_password
from integrations.web.config import load_serve_config as load_serve_config
from integrations.web.config import token_digest as token_digest
from integrations.web.server import LOCAL_HOSTS as LOCAL_HOSTS
from integrations.web.server import serve as serve

__all__ = ["LOCAL_HOSTS", "ServeConfig", "create_app", "hash_password", "load_serve_config", "serve", "token_digest"]
