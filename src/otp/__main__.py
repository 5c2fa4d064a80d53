"""`python -m otp`: the `otp` command (see `otp --help`)."""

from ._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
