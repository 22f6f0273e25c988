"""Batch scoring over HTTP: many answer sets, each answered exactly as POST .../score would."""

from __future__ import annotations

import csv
import io
import json
import random
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from app.cli import main
from app.config import Settings
from app.main import create_app
from scoring.catalog import Catalog

QUESTIONNAIRE = "attachment-self-reflection"
SCORE = f"/api/v1/questionnaires/{QUESTIONNAIRE}/score"
BATCH = f"{SCORE}/batch"
NDJSON = "application/x-ndjson"
ITEMS = [f"{prefix}{n:02d}" for prefix in ("anx", "avo", "dis") for n in range(1, 10)]
WELLBEING = ["wb_life", "wb_selfharm", "wb_substance", "wb_overwhelmed", "wb_now"]
BAD_ROW = 4321  # 0-based row of the 10,000 with an answer off the scale and a risk answer


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def make_client(catalog: Catalog, **settings: Any) -> TestClient:
    app = create_app(Settings(environment="test", database_url="sqlite://", **settings), catalog)
    return TestClient(app)


@pytest.fixture(scope="module")
def client(catalog: Catalog) -> Iterator[TestClient]:
    with make_client(catalog) as http:
        yield http


def generated_csv(rows: int, seed: int = 10) -> str:
    """Answer sets as another survey tool exports them: a column per item, empty = missing;
    about one in fifty answers a wellbeing item; one row is invalid and indicates risk."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["respondent", *ITEMS, *WELLBEING])
    writer.writeheader()
    for number in range(rows):
        row: dict[str, object] = {"respondent": f"r{number}"}
        for item in ITEMS:
            row[item] = "" if rng.random() < 0.08 else rng.randint(1, 7)
        if rng.random() < 0.02:
            wellbeing_item = rng.choice(WELLBEING)
            row[wellbeing_item] = rng.randint(0, 1 if wellbeing_item == "wb_now" else 3)
        if number == BAD_ROW:
            row.update(anx01=9, wb_now=1)
        writer.writerow(row)
    return out.getvalue()


def answer_sets(text: str) -> list[dict[str, int]]:
    """The CSV's rows as JSON answer sets, cells read as the CLI reads them."""
    return [
        {k: int(v) for k, v in row.items() if k != "respondent" and v.strip()}
        for row in csv.DictReader(io.StringIO(text))
    ]


def key(answer: dict[str, Any]) -> tuple[object, ...]:
    """What a row's answer says: each score, band and borderline flag, the primary tendency and
    the crisis level; for a refused row, the items named and the crisis level."""
    crisis = (answer.get("crisis") or {}).get("level")
    if "errors" in answer:
        return ("errors", tuple(sorted(e["item"] for e in answer["errors"])), crisis)
    scores = tuple(
        (name, s["mean"], s["band"], s["borderline"]) for name, s in answer["scores"].items()
    )
    return (scores, answer["primary_tendency"], crisis)


def cli_key(row: dict[str, str]) -> tuple[object, ...]:
    crisis = row["crisis_level"] or None
    if row["problems"]:
        named = tuple(sorted(p.split(":")[0] for p in row["problems"].split("; ")))
        return ("errors", named, crisis)
    scores = tuple(
        (
            name,
            float(row[f"{name}_mean"]) if row[f"{name}_mean"] else None,
            row[f"{name}_band"] or None,
            row[f"{name}_borderline"] == "true",
        )
        for name in ("anxiety", "avoidance", "disorganization")
    )
    return (scores, row["primary_tendency"] or None, crisis)


def test_ten_thousand_rows_score_the_same_every_way(client: TestClient, tmp_path: Path) -> None:
    text = generated_csv(10_000)
    sets = answer_sets(text)
    (tmp_path / "answers.csv").write_text(text, encoding="utf-8")

    cli = CliRunner().invoke(
        main,
        ["score", QUESTIONNAIRE, str(tmp_path / "answers.csv"), "-o", str(tmp_path / "out.csv")],
    )
    batch = client.post(BATCH, json={"responses": [{"answers": a} for a in sets]})
    stream = client.post(
        BATCH,
        content="".join(json.dumps({"answers": a}) + "\n" for a in sets),
        headers={"Content-Type": NDJSON},
    )
    # One request per row for every seventh row and the bad one: 1,400 single requests cover
    # every kind of row the generator makes without a quarter of an hour of HTTP round trips.
    sampled = sorted({*range(0, len(sets), 7), BAD_ROW})
    one_by_one = {i: client.post(SCORE, json={"answers": sets[i]}) for i in sampled}

    assert cli.exit_code == 0, cli.output
    by_cli = [cli_key(r) for r in csv.DictReader(io.StringIO((tmp_path / "out.csv").read_text()))]
    assert batch.status_code == 200
    results = batch.json()["results"]
    by_batch = [key(a) for a in results]
    assert stream.status_code == 200
    assert stream.headers["content-type"].startswith(NDJSON)
    by_stream = [key(json.loads(line)) for line in stream.text.splitlines()]
    by_single = {i: key(r.json()) for i, r in one_by_one.items()}
    assert len(by_cli) == len(by_batch) == len(by_stream) == 10_000
    assert by_batch == by_stream == by_cli
    assert {i: by_batch[i] for i in sampled} == by_single
    # The bad row fails alone, still with its crisis notice; its neighbours are scored.
    assert by_single[BAD_ROW] == ("errors", ("anx01",), "acute")
    assert one_by_one[BAD_ROW].status_code == 422
    assert "errors" not in results[BAD_ROW - 1]
    assert "errors" not in results[BAD_ROW + 1]
    assert sum(1 for k in by_batch if k[0] == "errors") == 1
    assert any(k[-1] == "urgent" for k in by_single.values())  # risk rows among the valid ones


def test_each_entry_is_exactly_the_single_answer(client: TestClient) -> None:
    rows: list[Any] = [
        {"answers": dict.fromkeys(ITEMS, 5), "lang": "en", "country": "GB"},
        {"answers": {**dict.fromkeys(ITEMS, 3), "wb_life": 2}, "country": "US"},
        {"answers": {"anx01": 4}},
    ]

    results = client.post(BATCH, json={"responses": rows}).json()["results"]

    assert results == [client.post(SCORE, json=row).json() for row in rows]
    assert results[1]["crisis"]["level"] == "urgent"


def test_a_bad_row_fails_alone_and_keeps_its_crisis_notice(client: TestClient) -> None:
    rows: list[Any] = [
        {"answers": dict.fromkeys(ITEMS, 4)},
        {"answers": {"anx01": "7", "wb_selfharm": 3}},  # a string is refused; risk is read
        "not an answer set",
        {"answers": {"anx01": 4}, "lang": "xx"},
        {"answers": {"nope": 1, "wb_now": "Yes"}, "colour": "blue"},
        {"answers": dict.fromkeys(ITEMS, 2)},
    ]

    response = client.post(BATCH, json={"responses": rows})

    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 6
    assert results[0]["primary_tendency"] == "secure"
    assert results[1] == {
        "errors": [
            {"item": "anx01", "message": "must be a whole number from 1 to 7, not a string"}
        ],
        "crisis": results[1]["crisis"],
    }
    assert results[1]["crisis"]["level"] == "urgent"
    assert results[2]["errors"][0]["item"] == "row"
    assert "crisis" not in results[2]
    assert [e["item"] for e in results[3]["errors"]] == ["lang"]
    assert "colour" in {e["item"] for e in results[4]["errors"]}
    assert results[4]["crisis"]["level"] == "acute"
    assert results[5]["scores"]["anxiety"]["mean"] is not None


def test_a_batch_refused_as_a_whole_still_shows_help(client: TestClient) -> None:
    risky = {"answers": {"wb_now": 1}}
    too_many = client.post(BATCH, json={"responses": [risky] + [{"answers": {}}] * 10_000})
    unknown_field = client.post(BATCH, json={"responses": [risky], "callback": "x"})
    not_json = client.post(BATCH, content=b"{", headers={"Content-Type": "application/json"})
    unknown = client.post("/api/v1/questionnaires/nope/score/batch", json={"responses": [risky]})

    for refused, item in ((too_many, "responses"), (unknown_field, "callback")):
        assert refused.status_code == 422
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["errors"][0]["item"] == item
        assert refused.json()["crisis"]["level"] == "acute"
    assert not_json.status_code == 422
    assert not_json.json()["errors"] == [
        {"item": "body", "message": "must be JSON encoded as UTF-8"}
    ]
    assert unknown.status_code == 404


def test_the_batch_has_its_own_body_limit(catalog: Catalog) -> None:
    big = {"responses": [{"answers": dict.fromkeys(ITEMS, 4)} for _ in range(500)]}
    body = json.dumps(big).encode()
    assert len(body) > 64 * 1024

    with (
        make_client(catalog) as default,
        make_client(catalog, max_batch_body_bytes=64 * 1024) as small,
    ):
        accepted = default.post(BATCH, content=body, headers={"Content-Type": "application/json"})
        single_too_big = default.post(
            SCORE, json={"answers": dict.fromkeys(ITEMS, 4), "pad": "x" * 70_000}
        )
        refused = small.post(BATCH, content=body, headers={"Content-Type": "application/json"})
        lines = b"".join(json.dumps(r).encode() + b"\n" for r in big["responses"])
        streamed = small.post(BATCH, content=lines, headers={"Content-Type": NDJSON})

    assert accepted.status_code == 200
    assert len(accepted.json()["results"]) == 500
    assert single_too_big.status_code == 413  # every other route keeps the small limit
    assert refused.status_code == 413
    assert refused.headers["content-type"] == "application/problem+json"
    assert str(64 * 1024) in refused.json()["detail"]
    assert streamed.status_code == 413


def test_ndjson_lines_split_across_chunks_are_read_whole(client: TestClient) -> None:
    rows = [{"answers": dict.fromkeys(ITEMS, v)} for v in (1, 4, 7)] + [{"answers": {"wb_now": 1}}]
    data = "".join(json.dumps(r) + "\n" for r in rows).encode() + b"{broken\n"

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(data), 37):
            yield data[start : start + 37]

    response = client.post(BATCH, content=chunks(), headers={"Content-Type": NDJSON})

    answers = [json.loads(line) for line in response.text.splitlines()]
    assert [a.get("primary_tendency") for a in answers[:3]] == ["secure", "secure", "anxious"]
    assert answers[3] == client.post(SCORE, json=rows[3]).json()
    assert answers[4] == {
        "errors": [{"item": "row", "message": "must be one JSON object per line"}]
    }


def test_a_chunked_stream_past_the_limit_ends_with_the_reason(catalog: Catalog) -> None:
    line = json.dumps({"answers": dict.fromkeys(ITEMS, 4)}).encode() + b"\n"

    def lines() -> Iterator[bytes]:  # chunked: no Content-Length to refuse up front
        for _ in range(10):
            yield line * 5

    with make_client(catalog, max_batch_body_bytes=4096) as small:
        response = small.post(BATCH, content=lines(), headers={"Content-Type": NDJSON})

    answers = [json.loads(text) for text in response.text.splitlines()]
    assert response.status_code == 200
    assert all("scores" in a for a in answers[:-1])
    assert len(answers) - 1 < 50
    assert answers[-1]["errors"][0]["item"] == "body"
    assert "4096" in answers[-1]["errors"][0]["message"]


def peak_memory_of_stream(app: Any, rows: int) -> tuple[int, int]:
    """Drive the NDJSON route as a server would, a line per chunk, answers discarded as they
    are sent: (lines answered, peak bytes allocated meanwhile)."""
    line = json.dumps({"answers": dict.fromkeys(ITEMS, 5)}).encode() + b"\n"
    sent = 0
    answered = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        sent += 1
        return {"type": "http.request", "body": line, "more_body": sent < rows}

    async def send(message: dict[str, Any]) -> None:
        nonlocal answered
        answered += message.get("body", b"").count(b"\n")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": BATCH,
        "raw_path": BATCH.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", NDJSON.encode()), (b"host", b"testserver")],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    tracemalloc.start()
    try:
        anyio.run(app, scope, receive, send)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return answered, peak


def test_an_ndjson_stream_is_scored_in_flat_memory(catalog: Catalog) -> None:
    app = create_app(Settings(environment="test", database_url="sqlite://"), catalog)
    peak_memory_of_stream(app, 20)  # warm-up: imports and caches

    few, few_peak = peak_memory_of_stream(app, 200)
    many, many_peak = peak_memory_of_stream(app, 2000)

    assert (few, many) == (200, 2000)
    # Each answer is about 10 kB: holding the answers of 2,000 rows would take 20 MB more.
    assert many_peak < few_peak + 2_000_000, (few_peak, many_peak)


def test_a_number_too_long_to_parse_fails_its_row_alone(client: TestClient) -> None:
    body = (
        '{"responses": [{"answers": {"anx01": 4}}, {"answers": {"anx01": '
        + "9" * 5000
        + ', "wb_now": 1}}]}'
    )

    response = client.post(BATCH, content=body, headers={"Content-Type": "application/json"})

    results = response.json()["results"]
    assert "scores" in results[0]
    assert [e["item"] for e in results[1]["errors"]] == ["anx01"]
    assert results[1]["crisis"]["level"] == "acute"


def test_the_documented_example_gets_the_answer_it_describes(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"][
        "/api/v1/questionnaires/{questionnaire_id}/score/batch"
    ]["post"]
    example = operation["requestBody"]["content"]["application/json"]["examples"]["rows"]

    results = client.post(BATCH, json=example["value"]).json()["results"]

    assert "scores" in results[0]
    assert results[1]["errors"][0]["item"] == "anx01"
    assert results[1]["crisis"]["level"] == "urgent"
