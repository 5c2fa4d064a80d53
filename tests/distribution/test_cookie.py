"""The cookie: the argument, or `$HOME/.erlang.cookie` read (and created) with erl's rules.

Every test points HOME at a temporary directory: the real cookie file is
never read nor written.
"""

from __future__ import annotations

import asyncio
import os
import stat
import uuid
from pathlib import Path

import pytest
from erlang_nodes import erl, erlang

import otp
from otp.distribution._cookie import COOKIE_LETTERS, read_cookie


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary HOME, with no cookie file yet."""
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def write_cookie(home: Path, text: str, mode: int = 0o400) -> Path:
    path = home / ".erlang.cookie"
    path.write_text(text)
    path.chmod(mode)
    return path


class TestGivenCookie:
    def test_the_cookie_argument_wins(self, home: Path) -> None:
        write_cookie(home, "FROMFILE")
        assert read_cookie("abc") == b"abc"

    def test_the_argument_needs_no_cookie_file(self, home: Path) -> None:
        assert read_cookie("abc") == b"abc"
        assert not (home / ".erlang.cookie").exists()

    def test_a_node_started_with_a_cookie_reports_its_name(self) -> None:
        name = f"solo{uuid.uuid4().hex[:10]}@127.0.0.1"

        async def main() -> tuple[str, list[str]]:
            return otp.node(), otp.nodes()

        assert otp.run(main, node=name, cookie="solo-cookie") == (name, [])


class TestReading:
    def test_without_one_the_cookie_file_is_read(self, home: Path) -> None:
        write_cookie(home, "FROMFILE\n")
        assert read_cookie(None) == b"FROMFILE"

    def test_trailing_spaces_and_line_ends_are_not_part_of_it(self, home: Path) -> None:
        write_cookie(home, "A B\r\n \n")
        assert read_cookie(None) == b"A B"

    def test_a_file_readable_by_its_group_is_refused_saying_how_to_fix_it(self, home: Path) -> None:
        path = write_cookie(home, "SECRET", 0o440)
        with pytest.raises(ValueError, match=f"owner only .*0440.*chmod 400 {path}"):
            read_cookie(None)

    @pytest.mark.parametrize("mode", [0o404, 0o600 | 0o002, 0o610])
    def test_any_access_for_group_or_others_is_refused(self, home: Path, mode: int) -> None:
        # erl's rule: mode band 8#077 must be 0 (not only the read bits).
        write_cookie(home, "SECRET", mode)
        with pytest.raises(ValueError, match="chmod 400"):
            read_cookie(None)

    def test_a_file_of_the_owner_only_is_accepted_whatever_its_owner_bits(self, home: Path) -> None:
        write_cookie(home, "SECRET", 0o600)
        assert read_cookie(None) == b"SECRET"

    def test_an_empty_file_is_refused(self, home: Path) -> None:
        write_cookie(home, "\n")
        with pytest.raises(ValueError, match="is empty: write the cookie in it"):
            read_cookie(None)

    def test_characters_after_the_first_line_are_refused(self, home: Path) -> None:
        write_cookie(home, "SECRET\nMORE\n")
        with pytest.raises(ValueError, match="characters a cookie cannot have"):
            read_cookie(None)

    def test_a_directory_is_refused_as_not_a_regular_file(self, home: Path) -> None:
        (home / ".erlang.cookie").mkdir(mode=0o700)
        with pytest.raises(ValueError, match=r"not a regular file \(a directory\)"):
            read_cookie(None)

    def test_a_symbolic_link_to_nothing_is_refused_and_left_alone(self, home: Path) -> None:
        link = home / ".erlang.cookie"
        link.symlink_to(home / "nowhere")
        with pytest.raises(ValueError, match="broken symbolic link"):
            read_cookie(None)
        assert not (home / "nowhere").exists()

    def test_without_home_it_says_to_pass_a_cookie(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("HOME")
        with pytest.raises(ValueError, match="pass cookie="):
            read_cookie(None)


class TestCreating:
    def test_a_missing_file_is_created_with_twenty_uppercase_letters(self, home: Path) -> None:
        cookie = read_cookie(None)
        assert len(cookie) == COOKIE_LETTERS and cookie.isalpha() and cookie.isupper()
        assert (home / ".erlang.cookie").read_bytes() == cookie

    def test_the_new_file_is_readable_by_its_owner_only(self, home: Path) -> None:
        read_cookie(None)
        assert stat.S_IMODE((home / ".erlang.cookie").stat().st_mode) == 0o400

    def test_the_new_file_is_read_back_the_next_time(self, home: Path) -> None:
        assert read_cookie(None) == read_cookie(None)

    def test_no_temporary_file_is_left_behind(self, home: Path) -> None:
        read_cookie(None)
        assert [p.name for p in home.iterdir()] == [".erlang.cookie"]

    def test_it_is_never_readable_by_others_even_with_a_permissive_umask(self, home: Path) -> None:
        old = os.umask(0)
        try:
            read_cookie(None)
        finally:
            os.umask(old)
        assert stat.S_IMODE((home / ".erlang.cookie").stat().st_mode) == 0o400

    def test_two_cookies_are_different(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        cookies = set()
        for sub in ("a", "b"):
            (tmp_path / sub).mkdir()
            monkeypatch.setenv("HOME", str(tmp_path / sub))
            cookies.add(read_cookie(None))
        assert len(cookies) == 2

    def test_a_home_that_cannot_be_written_says_what_to_do(self, home: Path) -> None:
        if os.geteuid() == 0:
            pytest.skip("root writes into a read-only directory")
        home.chmod(0o500)
        try:
            with pytest.raises(ValueError, match="cannot create the cookie file"):
                read_cookie(None)
        finally:
            home.chmod(0o700)


@pytest.mark.erlang
class TestWithErlang:
    def test_erl_and_a_python_node_share_the_cookie_file_of_their_home(self, home: Path) -> None:
        # Python creates the file; erl (same HOME, no -setcookie) reads it and connects.
        py = f"py{uuid.uuid4().hex[:10]}@127.0.0.1"
        en = f"erl{uuid.uuid4().hex[:10]}@127.0.0.1"
        code = erl('io:format("ping ~p~n", [net_adm:ping($PY)]), timer:sleep(infinity).', PY=py)

        async def main() -> tuple[str, list[str]]:
            async with erlang(en, code, cookie=None, env={"HOME": str(home)}) as peer:
                return await peer.expect("ping"), otp.nodes()

        assert otp.run(main, node=py) == ("pong", [en])
        assert stat.S_IMODE((home / ".erlang.cookie").stat().st_mode) == 0o400

    def test_a_python_node_reads_the_cookie_file_erl_created(self, home: Path) -> None:
        en = f"erl{uuid.uuid4().hex[:10]}@127.0.0.1"
        py = f"py{uuid.uuid4().hex[:10]}@127.0.0.1"
        code = 'io:format("ready ~s~n", [erlang:get_cookie()]), timer:sleep(infinity).'

        async def main() -> tuple[str, bool]:
            async with erlang(en, code, cookie=None, env={"HOME": str(home)}) as peer:
                cookie = await peer.expect("ready")  # erl made the file: now start our node
                async with otp.Node(py):
                    return cookie, await otp.connect(en)

        cookie, connected = asyncio.run(main())
        assert (cookie, connected) == ((home / ".erlang.cookie").read_text(), True)
