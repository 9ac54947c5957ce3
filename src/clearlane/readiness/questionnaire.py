"""The readiness and impact questionnaires: versioned YAML package data, validated on load.

Validation collects every problem before raising, and each problem names the file, the
question (or area) id and what is wrong, so that an author can fix a custom questionnaire in
one pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from clearlane.errors import NotFoundError, Problem, ValidationError

# Roadmap steps (the sequence customs modernisation programmes follow) and their phase.
STEP_PHASES: dict[str, str] = {
    "data_standardisation": "foundations",
    "infrastructure": "foundations",
    "workforce_development": "foundations",
    "governance": "foundations",
    "pilot_testing": "pilot",
    "scalable_implementation": "scale",
}
PHASES: tuple[str, ...] = ("foundations", "pilot", "scale")
STEPS: tuple[str, ...] = tuple(STEP_PHASES)


@dataclass(frozen=True)
class Question:
    """One readiness question, answered on the 0..``scale_max`` maturity scale."""

    id: str
    area: str
    step: str
    weight: float = 1.0

    @property
    def phase(self) -> str:
        return STEP_PHASES[self.step]


@dataclass(frozen=True)
class Area:
    id: str
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class Questionnaire:
    """A versioned readiness questionnaire (structure only; texts are in the catalogues)."""

    id: str
    version: int
    scale_max: int
    target_level: int
    action_threshold: float
    stage_thresholds: tuple[float, float, float]
    areas: tuple[Area, ...]

    @property
    def questions(self) -> tuple[Question, ...]:
        return tuple(q for area in self.areas for q in area.questions)

    def question(self, question_id: str) -> Question:
        for q in self.questions:
            if q.id == question_id:
                return q
        raise NotFoundError(
            f"question {question_id!r} is not in questionnaire {self.id} v{self.version}"
        )


@dataclass(frozen=True)
class RiskQuestion:
    """An impact risk question: each option adds its points to the raw impact score."""

    id: str
    options: tuple[tuple[str, int], ...]

    @property
    def max_points(self) -> int:
        return max(points for _, points in self.options)

    def points(self, option: str | None) -> int:
        """Points of ``option``; ``None`` (don't know) counts as the riskiest option."""
        if option is None:
            return self.max_points
        for name, points in self.options:
            if name == option:
                return points
        raise ValidationError(
            f"impact question {self.id!r}: option {option!r} is not one of "
            + ", ".join(name for name, _ in self.options)
        )


@dataclass(frozen=True)
class MitigationQuestion:
    """An impact mitigation question: ``yes`` adds its points to the mitigation score."""

    id: str
    points: int


@dataclass(frozen=True)
class ImpactQuestionnaire:
    id: str
    version: int
    mitigation_threshold: float
    mitigation_reduction: float
    level_bounds: tuple[float, float, float]
    risk: tuple[RiskQuestion, ...]
    mitigation: tuple[MitigationQuestion, ...]
    obligations: dict[int, tuple[str, ...]]

    @property
    def max_raw(self) -> int:
        return sum(q.max_points for q in self.risk)

    @property
    def max_mitigation(self) -> int:
        return sum(q.points for q in self.mitigation)


# -- loading -------------------------------------------------------------------------------


def _read_yaml(text: str, source: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationError(f"{source}: not valid YAML: {exc}") from exc


def _shipped_text(name: str) -> str:
    path = resources.files("clearlane.readiness").joinpath(f"questionnaire/{name}")
    if not path.is_file():
        raise NotFoundError(f"no shipped questionnaire {name!r}")
    return path.read_text(encoding="utf-8")


def load_questionnaire(version: int = 1, path: Path | None = None) -> Questionnaire:
    """The shipped readiness questionnaire ``version``, or the one in ``path``."""
    if path is not None:
        return parse_questionnaire(_read_yaml(path.read_text(encoding="utf-8"), str(path)), str(path))
    source = f"questionnaire/v{version}.yaml"
    return parse_questionnaire(_read_yaml(_shipped_text(f"v{version}.yaml"), source), source)


def load_impact_questionnaire(version: int = 1, path: Path | None = None) -> ImpactQuestionnaire:
    """The shipped impact questionnaire ``version``, or the one in ``path``."""
    if path is not None:
        data = _read_yaml(path.read_text(encoding="utf-8"), str(path))
        return parse_impact_questionnaire(data, str(path))
    source = f"questionnaire/impact_v{version}.yaml"
    return parse_impact_questionnaire(
        _read_yaml(_shipped_text(f"impact_v{version}.yaml"), source), source
    )


def _number(
    data: dict[str, Any], key: str, where: str, problems: list[Problem], source: str,
    *, default: float | None = None, low: float = 0.0, high: float | None = None,
) -> float:
    value = data.get(key, default)
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok and (value < low or (high is not None and value > high)):  # type: ignore[operator]
        ok = False
    if not ok:
        valid = f"a number from {low}" + (f" to {high}" if high is not None else "")
        problems.append(Problem(f"{where}{key}", repr(value), f"must be {valid}", source=source))
        return float(default or 0)
    return float(value)  # type: ignore[arg-type]


def parse_questionnaire(data: Any, source: str) -> Questionnaire:
    """Validate a parsed readiness questionnaire; raise one error listing every problem."""
    problems: list[Problem] = []
    if not isinstance(data, dict):
        raise ValidationError(f"{source}: a questionnaire must be a mapping")
    if data.get("kind") != "readiness-questionnaire":
        problems.append(Problem("kind", repr(data.get("kind")),
                                "must be 'readiness-questionnaire'", source=source))
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        problems.append(Problem("version", repr(version), "must be a positive integer", source=source))
        version = 0
    scale_max = data.get("scale_max", 4)
    if not isinstance(scale_max, int) or scale_max < 1:
        problems.append(Problem("scale_max", repr(scale_max), "must be an integer >= 1", source=source))
        scale_max = 4
    target = data.get("target_level", scale_max)
    if not isinstance(target, int) or not 0 < target <= scale_max:
        problems.append(Problem("target_level", repr(target),
                                f"must be an integer from 1 to scale_max ({scale_max})", source=source))
        target = scale_max
    threshold = _number(data, "action_threshold", "", problems, source, default=60, high=100)
    stages = data.get("stage_thresholds", [25, 50, 75])
    if (not isinstance(stages, list) or len(stages) != 3
            or not all(isinstance(s, int | float) for s in stages)
            or not 0 < stages[0] < stages[1] < stages[2] < 100):
        problems.append(Problem("stage_thresholds", repr(stages),
                                "must be three increasing numbers between 0 and 100", source=source))
        stages = [25, 50, 75]

    areas: list[Area] = []
    seen: set[str] = set()
    raw_areas = data.get("areas")
    if not isinstance(raw_areas, list) or not raw_areas:
        problems.append(Problem("areas", repr(raw_areas), "must be a non-empty list", source=source))
        raw_areas = []
    for a_index, raw_area in enumerate(raw_areas):
        if not isinstance(raw_area, dict) or not isinstance(raw_area.get("id"), str):
            problems.append(Problem(f"areas[{a_index}]", repr(raw_area),
                                    "must be a mapping with a text 'id'", source=source))
            continue
        area_id = raw_area["id"]
        if area_id in seen:
            problems.append(Problem(f"area {area_id}", area_id, "duplicate area id", source=source))
        seen.add(area_id)
        raw_questions = raw_area.get("questions")
        if not isinstance(raw_questions, list) or not raw_questions:
            problems.append(Problem(f"area {area_id}.questions", repr(raw_questions),
                                    "must be a non-empty list of questions", source=source))
            raw_questions = []
        questions: list[Question] = []
        for q_index, raw in enumerate(raw_questions):
            where = f"area {area_id} question #{q_index + 1}"
            if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
                problems.append(Problem(where, repr(raw), "must be a mapping with a text 'id'",
                                        source=source))
                continue
            qid = raw["id"]
            unknown = set(raw) - {"id", "step", "weight"}
            if unknown:
                problems.append(Problem(f"question {qid}", ", ".join(sorted(unknown)),
                                        "unknown keys; valid: id, step, weight", source=source))
            if qid in seen:
                problems.append(Problem(f"question {qid}", qid, "duplicate id", source=source))
            seen.add(qid)
            step = raw.get("step")
            if step not in STEP_PHASES:
                problems.append(Problem(f"question {qid}.step", repr(step),
                                        "must be one of " + ", ".join(STEPS), source=source))
                step = STEPS[0]
            weight = raw.get("weight", 1)
            if isinstance(weight, bool) or not isinstance(weight, int | float) or weight <= 0:
                problems.append(Problem(f"question {qid}.weight", repr(weight),
                                        "must be a positive number", source=source))
                weight = 1
            questions.append(Question(qid, area_id, str(step), float(weight)))
        areas.append(Area(area_id, tuple(questions)))
    if problems:
        raise ValidationError(f"questionnaire {source} is not valid", problems)
    return Questionnaire(
        id=str(data.get("id", "custom")), version=int(version), scale_max=int(scale_max),
        target_level=int(target), action_threshold=threshold,
        stage_thresholds=(float(stages[0]), float(stages[1]), float(stages[2])),
        areas=tuple(areas),
    )


def parse_impact_questionnaire(data: Any, source: str) -> ImpactQuestionnaire:
    """Validate a parsed impact questionnaire; raise one error listing every problem."""
    problems: list[Problem] = []
    if not isinstance(data, dict):
        raise ValidationError(f"{source}: an impact questionnaire must be a mapping")
    if data.get("kind") != "impact-questionnaire":
        problems.append(Problem("kind", repr(data.get("kind")), "must be 'impact-questionnaire'",
                                source=source))
    threshold = _number(data, "mitigation_threshold", "", problems, source, default=0.8, high=1)
    reduction = _number(data, "mitigation_reduction", "", problems, source, default=0.15, high=1)
    bounds = data.get("level_bounds", [0.25, 0.5, 0.75])
    if (not isinstance(bounds, list) or len(bounds) != 3
            or not all(isinstance(b, int | float) for b in bounds)
            or not 0 < bounds[0] < bounds[1] < bounds[2] < 1):
        problems.append(Problem("level_bounds", repr(bounds),
                                "must be three increasing shares between 0 and 1", source=source))
        bounds = [0.25, 0.5, 0.75]
    seen: set[str] = set()
    risk: list[RiskQuestion] = []
    for i, raw in enumerate(data.get("risk") or []):
        qid = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(qid, str):
            problems.append(Problem(f"risk[{i}]", repr(raw), "must have a text 'id'", source=source))
            continue
        if qid in seen:
            problems.append(Problem(f"question {qid}", qid, "duplicate id", source=source))
        seen.add(qid)
        options = raw.get("options")
        if (not isinstance(options, dict) or len(options) < 2
                or not all(isinstance(p, int) and not isinstance(p, bool) and p >= 0
                           for p in options.values())):
            problems.append(Problem(f"question {qid}.options", repr(options),
                                    "must map at least two option ids to points >= 0",
                                    source=source))
            continue
        risk.append(RiskQuestion(qid, tuple((str(k), int(v)) for k, v in options.items())))
    if not risk:
        problems.append(Problem("risk", None, "needs at least one risk question", source=source))
    mitigation: list[MitigationQuestion] = []
    for i, raw in enumerate(data.get("mitigation") or []):
        qid = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(qid, str):
            problems.append(Problem(f"mitigation[{i}]", repr(raw), "must have a text 'id'",
                                    source=source))
            continue
        if qid in seen:
            problems.append(Problem(f"question {qid}", qid, "duplicate id", source=source))
        seen.add(qid)
        points = raw.get("points")
        if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
            problems.append(Problem(f"question {qid}.points", repr(points),
                                    "must be a positive integer", source=source))
            continue
        mitigation.append(MitigationQuestion(qid, points))
    if not mitigation:
        problems.append(Problem("mitigation", None, "needs at least one mitigation question",
                                source=source))
    raw_obl = data.get("obligations")
    obligations: dict[int, tuple[str, ...]] = {}
    if not isinstance(raw_obl, dict) or set(raw_obl) != {1, 2, 3, 4}:
        problems.append(Problem("obligations", repr(raw_obl),
                                "must map each level 1, 2, 3, 4 to a list of obligation ids",
                                source=source))
    else:
        obligations = {int(k): tuple(str(o) for o in (v or [])) for k, v in raw_obl.items()}
    if problems:
        raise ValidationError(f"impact questionnaire {source} is not valid", problems)
    return ImpactQuestionnaire(
        id=str(data.get("id", "custom")), version=int(data.get("version", 1)),
        mitigation_threshold=threshold, mitigation_reduction=reduction,
        level_bounds=(float(bounds[0]), float(bounds[1]), float(bounds[2])),
        risk=tuple(risk), mitigation=tuple(mitigation), obligations=obligations,
    )


def check_texts(
    questionnaire: Questionnaire, impact: ImpactQuestionnaire | None, catalogue: Any, source: str
) -> None:
    """Raise if ``catalogue`` lacks a text the questionnaires need (title, question, levels)."""
    needed: list[str] = []
    for area in questionnaire.areas:
        needed.append(f"areas/{area.id}/title")
        for q in area.questions:
            needed += [f"questions/{q.id}/text", f"questions/{q.id}/next_step"]
            needed += [f"questions/{q.id}/levels/{lv}" for lv in range(questionnaire.scale_max + 1)]
    if impact is not None:
        for rq in impact.risk:
            needed.append(f"impact/questions/{rq.id}/text")
            needed += [f"impact/questions/{rq.id}/options/{name}" for name, _ in rq.options]
        needed += [f"impact/questions/{mq.id}/text" for mq in impact.mitigation]
        needed += [f"impact/obligations/{o}" for obs in impact.obligations.values() for o in obs]
    keys = catalogue.keys
    problems = [Problem(key, None, "text missing from the catalogue", source=source)
                for key in needed if key not in keys]
    for key in sorted(keys):
        if not (key.startswith("questions/") and "/levels/" in key):
            continue
        tail = key.split("/levels/", 1)[1]
        if not tail.isdigit():
            problems.append(Problem(key, None, "a level descriptor must be plain text (quote it "
                                    "when it contains ': ')", source=source))
        elif int(tail) > questionnaire.scale_max:
            problems.append(Problem(key, None, f"level above scale_max {questionnaire.scale_max}",
                                    source=source))
    if problems:
        raise ValidationError(f"catalogue {source} does not cover the questionnaire", problems)
