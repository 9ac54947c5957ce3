"""AI/ML readiness self-assessment and use-case impact assessment.

Questionnaires are versioned YAML package data (``questionnaire/``), every user-facing text is
in a language catalogue (``catalogue/<lang>.yaml``), and scoring is pure functions
(:mod:`~clearlane.readiness.scoring`, :mod:`~clearlane.readiness.impact`). Storage and use cases
live in :mod:`clearlane.services.readiness`. Nothing heavy is imported here.
"""

from __future__ import annotations
