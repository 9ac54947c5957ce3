"""The readiness self-assessment over real HTTP: questionnaire, answers, score, report."""

from __future__ import annotations

from tests.api.conftest import Server


def test_questionnaire_in_two_languages(server: Server) -> None:
    with server.client("auditor") as http:
        english = http.get("/api/v1/readiness/questionnaire").json()
        french = http.get("/api/v1/readiness/questionnaire", params={"lang": "fr"}).json()
        unknown = http.get("/api/v1/readiness/questionnaire", params={"lang": "xx"})
    questions = [q for a in english["areas"] for q in a["questions"]]
    assert questions and all(len(q["levels"]) == english["scale_max"] + 1 for q in questions)
    assert [q["id"] for a in french["areas"] for q in a["questions"]] == [
        q["id"] for q in questions]
    assert french["areas"][0]["title"] != english["areas"][0]["title"]
    assert unknown.status_code == 404 and "xx" in unknown.json()["detail"]


def test_answer_score_and_report(server: Server) -> None:
    with server.client("analyst") as http:
        started = http.post("/api/v1/readiness/assessments",
                            json={"administration": "Customs of Testland"})
        assert started.status_code == 201, started.text
        assessment = started.json()
        first = assessment["next_question"]
        url = f"/api/v1/readiness/assessments/{assessment['id']}"
        answered = http.put(f"{url}/answers/{first}",
                            json={"level": 3, "evidence": "a written policy"}).json()
        unknown = http.put(f"{url}/answers/{answered['next_question']}",
                           json={"level": None}).json()
        too_high = http.put(f"{url}/answers/{first}", json={"level": 99})
        no_question = http.put(f"{url}/answers/no-such-question", json={"level": 1})
        score = http.get(f"{url}/score").json()
        listed = http.get("/api/v1/readiness/assessments").json()
        report = http.get(f"{url}/report")
    assert answered["answers"][first] == {"level": 3, "evidence": "a written policy"}
    assert answered["next_question"] != first
    assert unknown["answers"][answered["next_question"]]["level"] is None
    assert too_high.status_code == 422 and "level" in too_high.json()["detail"]
    assert no_question.status_code == 404
    assert 0 < score["mean"] <= 100 and score["actions"]
    assert score["overall"] == min(a["score"] for a in score["areas"])
    assert sum(a["answered"] for a in score["areas"]) == 2
    assert [(a["id"], a["answered"], a["complete"]) for a in listed] == [
        (assessment["id"], 2, False)]
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("text/html")
    assert "Customs of Testland" in report.text


def test_answering_needs_readiness_answer_and_ids_are_checked(server: Server) -> None:
    with server.client("auditor") as http:
        refused = http.post("/api/v1/readiness/assessments", json={"administration": "X"})
    with server.client("analyst") as http:
        language = http.post("/api/v1/readiness/assessments",
                             json={"administration": "X", "lang": "xx"})
    assert language.status_code == 422 and language.json()["errors"][0]["field"] == "lang"
    with server.client("auditor") as http:
        bad_id = http.get("/api/v1/readiness/assessments/..%2Fetc")
        missing = http.get("/api/v1/readiness/assessments/nothing-here")
    assert refused.status_code == 403
    assert bad_id.status_code in (404, 422)
    assert missing.status_code == 404 and "nothing-here" in missing.json()["detail"]
