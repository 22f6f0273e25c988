"""Response ids and tokens keep their form and strength whatever generator makes them: 128
and 256 random bits, written as 22 and 43 URL-safe characters, never repeated."""

from __future__ import annotations

import re
import subprocess
import sys

from app.security import new_response_id, new_response_keys, new_token

URL_SAFE = re.compile(r"[A-Za-z0-9_-]+")


def test_ids_and_tokens_are_url_safe_and_full_length() -> None:
    ids = [new_response_id() for _ in range(2000)]
    tokens = [new_token() for _ in range(2000)]
    assert {len(i) for i in ids} == {22}
    assert {len(t) for t in tokens} == {43}
    assert all(URL_SAFE.fullmatch(value) for value in ids + tokens)
    assert len(set(ids)) == len(ids)
    assert len(set(tokens)) == len(tokens)


def test_a_forked_process_makes_tokens_of_its_own() -> None:
    """A worker forked from another never repeats its parent's tokens."""
    program = (
        "import os\n"
        "from app.security import new_token\n"
        "new_token()\n"
        "read, write = os.pipe()\n"
        "if os.fork() == 0:\n"
        "    os.write(write, new_token().encode()); os._exit(0)\n"
        "os.wait()\n"
        "print(os.read(read, 100).decode(), new_token())\n"
    )
    child, parent = subprocess.run(  # noqa: S603 (our own interpreter and program)
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    ).stdout.split()
    assert child != parent


def test_a_new_responses_id_and_token_are_drawn_whole_and_apart() -> None:
    keys = [new_response_keys() for _ in range(2000)]
    ids = [response_id for response_id, _ in keys]
    tokens = [token for _, token in keys]
    assert {len(i) for i in ids} == {22}
    assert {len(t) for t in tokens} == {43}
    assert all(URL_SAFE.fullmatch(value) for value in ids + tokens)
    assert len(set(ids)) == len(ids)
    assert len(set(tokens)) == len(tokens)
    # Apart: the token does not begin with the id's bytes (16 bytes fill 21 characters).
    assert not any(token.startswith(response_id[:21]) for response_id, token in keys)
