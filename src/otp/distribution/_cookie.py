"""The cookie: the secret two nodes prove to each other in the handshake.

Given as `otp.Node(..., cookie="secret")`, or else read from
`~/.erlang.cookie`, as `erl` reads it.
"""

from __future__ import annotations

import os
from pathlib import Path


def read_cookie(cookie: str | None) -> bytes:
    """The cookie: the argument, else the contents of `~/.erlang.cookie` as `erl` reads it.

    >>> read_cookie("secret")
    b'secret'
    """
    if cookie is not None:
        return cookie.encode("utf-8")
    path = Path(os.environ.get("HOME", str(Path.home()))) / ".erlang.cookie"
    try:
        text = path.read_text("utf-8").strip()
    except OSError as exc:
        raise ValueError(
            f"a distributed node needs a cookie: pass cookie='...' or create {path} "
            f"(erl creates it on its first distributed start); reading it failed: {exc}"
        ) from None
    if not text:
        raise ValueError(f"{path} is empty: write the cookie in it, or pass cookie='...'")
    return text.encode("utf-8")


__all__ = ["read_cookie"]
