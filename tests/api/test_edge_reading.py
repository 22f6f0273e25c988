"""The edge's body reading on its own: what the tolerant scan finds, and that it stays
linear-time and bounded on hostile input."""

from __future__ import annotations

import time

import pytest

from app.edge.reading import MAX_SCANNED, TOO_MANY_DIGITS, read_body, scan

ITEMS = frozenset({"wb_now", "wb_life", "wb_selfharm", "wb_substance", "wb_overwhelmed"})


@pytest.mark.parametrize(
    ("raw", "form", "expected"),
    [
        (b'{"answers": {"wb_now": 1,}}', False, ("wb_now", "1")),
        (b"{'answers': {'WB_NOW': 'Yes'}}", False, ("WB_NOW", "Yes")),
        (b'{"wb_life": {"v": 2', False, ("wb_life", "2")),
        (b'{"wb_life": [3', False, ("wb_life", "3")),
        (b"csrf_token=x&wb_substance=nearly+every+day", True, ("wb_substance", "nearly every day")),
        (b"wb_now%3D1", True, ("wb_now", "1")),
        (b'{"wb_now": 1, "anx01": "\xff"}', False, ("wb_now", "1")),
    ],
)
def test_the_tolerant_scan_finds_an_item_followed_by_its_value(
    raw: bytes, form: bool, expected: tuple[str, str]
) -> None:
    reading = read_body(raw, form=form, risk_items=ITEMS)
    assert not reading.parsed
    assert expected in reading.risk_pairs


def test_an_item_id_inside_another_word_is_not_read() -> None:
    assert scan(b'{"xwb_now": 1, "study": "wb_nowhere"}', ITEMS) == ()


def test_strict_json_reads_every_value_under_duplicate_keys_at_any_depth() -> None:
    reading = read_body(b'[{"x": {"wb_now": 1, "wb_now": 0}}]', form=False, risk_items=ITEMS)
    assert reading.parsed
    assert reading.risk_pairs == (("wb_now", 1), ("wb_now", 0))
    assert reading.duplicates == ("wb_now",)


@pytest.mark.parametrize(
    "raw",
    [
        b"wb_now:" * 9000,
        b"wb_now" * 10000,
        b'"wb_now": [[[[[[[[' * 3000,
        b"wb_now=" + b"a" * 60000,
    ],
)
def test_the_scan_is_fast_and_bounded_on_hostile_input(raw: bytes) -> None:
    began = time.perf_counter()
    found = scan(raw[:65536], ITEMS)
    assert time.perf_counter() - began < 0.5
    assert len(found) <= MAX_SCANNED + 1


def test_a_number_too_long_is_refused_however_little_else_the_body_holds() -> None:
    digits = b"9" * 4301
    for raw in (b"[" + digits + b"]", b'{"wb_now": -' + digits + b"}"):
        reading = read_body(raw, form=False, risk_items=ITEMS)
        assert reading.parsed
        assert reading.refusal == TOO_MANY_DIGITS
    fits = read_body(b"[" + b"9" * 4300 + b"]", form=False, risk_items=ITEMS)
    assert fits.parsed
    assert fits.refusal is None


def test_nesting_is_measured_whatever_brackets_the_strings_hold() -> None:
    shallow = b'{"note": "' + b"[{" * 40 + b'", "wb_now": 1}'
    assert read_body(shallow, form=False, risk_items=ITEMS).refusal is None
    deep = b"[" * 33 + b"]" * 33
    assert read_body(deep, form=False, risk_items=ITEMS).refusal is not None
    at_limit = b"[" * 32 + b"]" * 32
    assert read_body(at_limit, form=False, risk_items=ITEMS).refusal is None
