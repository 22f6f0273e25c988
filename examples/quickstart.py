"""The README's quick start in Python, with httpx: list, fetch, start, save (a risk answer
among them, which is answered with the crisis notice), submit, read, crisis resources, one
research export, and erase.

    python examples/quickstart.py [BASE_URL]          # default http://127.0.0.1:8000

The research export at the end needs a researcher key in ``SECUREBASE_RESEARCH_KEY`` (from
``securebase researchers add NAME``); without one it is left out.
"""

from __future__ import annotations

import os
import sys

import httpx

QUESTIONNAIRE = "attachment-self-reflection"


def main(base_url: str) -> None:
    with httpx.Client(base_url=f"{base_url.rstrip('/')}/api/v1", timeout=30) as api:
        offered = api.get("/questionnaires").raise_for_status().json()
        print("questionnaires:", [q["id"] for q in offered])

        questionnaire = api.get(f"/questionnaires/{QUESTIONNAIRE}", params={"lang": "en"})
        view = questionnaire.raise_for_status().json()
        print("title:", view["title"], "| items:", len(view["items"]))

        # Start a response; the token is in this answer only.
        started = api.post(
            "/responses",
            json={"questionnaire_id": QUESTIONNAIRE, "consent": {"research": True}},
        )
        created = started.raise_for_status().json()
        response_id = created["response_id"]
        auth = {"Authorization": f"Bearer {created['token']}"}

        saved = api.put(
            f"/responses/{response_id}/answers",
            json={"answers": {"anx01": 5, "avo01": 2}},
            headers=auth,
        )
        print("progress:", saved.raise_for_status().json()["progress"])

        # Always show a crisis notice when one comes back: it is there because the answers
        # indicate risk, and it says who to contact now.
        risk = api.put(
            f"/responses/{response_id}/answers",
            json={"answers": {"wb_life": 1}, "country": "GB"},
            headers=auth,
        )
        notice = risk.raise_for_status().json()["crisis"]
        print("crisis notice:", notice["level"], "| first contact:", notice["resources"][0]["name"])

        everything = {item["id"]: 4 for item in view["items"]}
        api.put(
            f"/responses/{response_id}/answers", json={"answers": everything}, headers=auth
        ).raise_for_status()
        submitted = api.post(f"/responses/{response_id}/submit", headers=auth)
        finished = submitted.raise_for_status().json()
        print(
            "submitted:",
            finished["status"],
            "| primary tendency:",
            finished["result"]["primary_tendency"],
            "| crisis:",
            finished["crisis"]["level"] if finished["crisis"] else None,
        )

        stored = api.get(f"/responses/{response_id}", headers=auth).raise_for_status().json()
        print("read back:", stored["status"], "| answered:", stored["progress"]["answered"])

        contacts = api.get("/crisis-resources", params={"country": "GB"}).raise_for_status()
        print("crisis resources:", [r["name"] for r in contacts.json()["resources"]])

        key = os.environ.get("SECUREBASE_RESEARCH_KEY")
        if key:
            export = api.get(
                "/research/summary",
                params={"questionnaire_id": QUESTIONNAIRE},
                headers={"Authorization": f"Bearer {key}"},
            ).raise_for_status()
            summary = export.json()
            print(
                "research summary: n =", summary["meta"]["n"], "| withheld:", summary["suppressed"]
            )

        erased = api.delete(f"/responses/{response_id}", headers=auth)
        gone = api.get(f"/responses/{response_id}", headers=auth)
        print("erased:", erased.status_code, "| then:", gone.status_code)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")
