"""Make credentials for the serve config: ``python -m integrations.web.credentials (token NAME | password)``."""

from __future__ import annotations

import getpass
import secrets
import sys

from integrations.web.config import hash_password, token_digest


def main(argv: list[str] | None = None) -> int:
    """Print a new token with its config line (``token NAME``), or a password hash (``password``).

    Args:
        argv: the arguments; ``sys.argv[1:]`` by default.

    Returns:
        The exit code.
    """
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["token"] and len(args) == 2:
        token = secrets.token_urlsafe(32)
        print(f"token (give it to {args[1]}; it is not stored): {token}")
        print(f"  - {{identity: {args[1]}, sha256: {token_digest(token)}}}")
        return 0
    if args == ["password"]:
        print(hash_password(getpass.getpass("password: ")))
        return 0
    print("usage: python -m integrations.web.credentials (token NAME | password)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
