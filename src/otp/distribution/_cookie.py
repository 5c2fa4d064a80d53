"""The cookie: the secret two nodes prove to each other in the handshake.

Given as `otp.Node(..., cookie="secret")`, or else read from
`$HOME/.erlang.cookie` with `erl`'s rules (OTP's `auth` module):

- a missing file is created with 20 random uppercase letters and mode
  0400, as `erl` creates it: here atomically (written under a temporary
  name created with mode 0400, then linked into place), so that no other
  user can ever read it and no node ever reads it half-written;
- a file that is not a regular file, or that its group or other users may
  access in any way (mode & 0o077), is refused with a message saying how
  to fix it;
- the cookie is the file's leading printable ASCII characters; only
  newlines, carriage returns and spaces may follow them; an empty cookie
  is refused.

As `erl`, the file's owner is not checked (a file of another user that
this user can read, with no group or other access, is only possible for
root). Unlike `erl`, the new cookie comes from `secrets`, not from a
generator seeded with the clock.

>>> read_cookie("secret")
b'secret'
>>> parse_cookie("ABC\\n", "f")
b'ABC'
"""

from __future__ import annotations

import os
import secrets
import stat
import string
from pathlib import Path

#: How many letters a new cookie file gets (as erl).
COOKIE_LETTERS = 20


def read_cookie(cookie: str | None) -> bytes:
    """The cookie: the argument, else `$HOME/.erlang.cookie` as `erl` reads it (and creates it).

    Raises:
        ValueError: the cookie file cannot be read or created, is open to
            other users, is not a regular file, or holds no valid cookie.
            The message names the file and what to do.
    """
    if cookie is not None:
        return cookie.encode("utf-8")
    home = os.environ.get("HOME")
    if not home:
        raise ValueError(
            "a distributed node needs a cookie: pass cookie='...', or set HOME so that "
            "$HOME/.erlang.cookie can be read (or created) as erl does"
        )
    return read_cookie_file(Path(home) / ".erlang.cookie")


def read_cookie_file(path: Path) -> bytes:
    """The cookie in `path`, created first when missing (see the module docstring)."""
    try:
        try:
            info = path.stat()
        except FileNotFoundError:
            if path.is_symlink():
                info = path.lstat()  # a link to nothing: refused below
            else:
                _create(path)
                info = path.stat()
    except OSError as exc:
        raise ValueError(f"cannot read the cookie file {path}: {exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(
            f"the cookie file {path} is not a regular file ({_kind(info.st_mode)}): "
            f"replace it with a file holding the cookie (mode 0400), or pass cookie='...'"
        )
    if info.st_mode & 0o077:
        raise ValueError(
            f"the cookie file {path} must be accessible by its owner only (its mode is "
            f"{stat.S_IMODE(info.st_mode):04o}): run `chmod 400 {path}`"
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read the cookie file {path}: {exc}") from None
    return parse_cookie(raw.decode("latin-1"), str(path))


def parse_cookie(text: str, where: str) -> bytes:
    """The cookie in `text` (a cookie file's contents), by erl's rule.

    >>> parse_cookie("", "f")
    Traceback (most recent call last):
    ...
    ValueError: the cookie file f is empty: write the cookie in it (one line), or pass cookie='...'
    """
    end = 0
    while end < len(text) and " " <= text[end] <= "~":
        end += 1
    cookie, rest = text[:end], text[end:]
    if rest.strip("\n\r "):
        raise ValueError(
            f"the cookie file {where} holds characters a cookie cannot have (only "
            f"printable ASCII, then the end of the line): rewrite it, or pass cookie='...'"
        )
    if not cookie:
        raise ValueError(
            f"the cookie file {where} is empty: write the cookie in it (one line), "
            f"or pass cookie='...'"
        )
    return cookie.encode("ascii")


def _create(path: Path) -> None:
    """Write a new random cookie to `path`, readable by its owner only, all at once."""
    cookie = "".join(secrets.choice(string.ascii_uppercase) for _ in range(COOKIE_LETTERS))
    temporary = path.with_name(f".erlang.cookie.{secrets.token_hex(8)}")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
        try:
            os.write(fd, cookie.encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(temporary, path)  # never replaces a file another node just created
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    except OSError as exc:
        raise ValueError(
            f"cannot create the cookie file {path}: {exc}; create it yourself "
            f"(one line, then `chmod 400 {path}`), or pass cookie='...'"
        ) from None


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISLNK, "a broken symbolic link"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "not a regular file"


__all__ = ["read_cookie", "read_cookie_file"]
