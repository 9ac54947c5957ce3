"""Parameters of the synthetic declaration generator.

Every rate is a share of items (declaration goods lines) unless its name says otherwise. Money is
in the national currency ``currency`` (default the West African CFA franc, XOF).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from clearlane.errors import Problem, ValidationError

MECHANISMS: tuple[str, ...] = (
    "undervaluation",
    "misclassification",
    "false_origin",
    "risky_network",
    "concealment",
    "new_importer_burst",
)
"""The planted fraud mechanisms, as written in ``SynthResult.truth["mechanism"]``."""


@dataclass(frozen=True)
class SynthConfig:
    """What to generate.

    Sizes:
        ``n_items`` goods items in total, spread over ``days`` days from ``start``.
        ``n_importers`` / ``n_declarants`` / ``n_exporters`` default (None) to a size that grows
        with ``n_items`` (about 40 items per importer, 25 importers per declarant).

    Planted fraud (each item carries at most one mechanism):
        ``undervaluation_rate``, ``misclassification_rate``, ``false_origin_rate`` and
        ``concealment_rate`` are shares of all items. ``risky_network_*`` plants a few brokers
        (declarants) used by a few importers whose items are fraudulent at
        ``risky_network_fraud_rate``. ``n_bursts`` bursts of ``burst_importers`` new
        importers (default: one per 8,000 items) appear within ``burst_window_days`` and are
        fraudulent at ``burst_fraud_rate``.
        ``false_origin_disguised_share`` of false-origin items are trans-shipped through the
        claimed country (departure = claimed origin), the rest leave from the true one.
        ``undervaluation_depth`` is the (low, high) fraction below the true value that an
        under-valued item declares (declared = true × (1 − depth), depth uniform in the range).

    Goods: ``repeat_goods_share`` of an importer's items are its regular goods (a portfolio of a
    dozen codes, mostly of its main chapter); the rest follow its main chapter or the market.

    Prices (standard deviations of the natural log of the unit value, around the code's price
    times the origin's price level): ``importer_price_sigma`` (an importer's segment, cheap or
    premium, across all its goods), ``importer_goods_price_sigma`` (the quality/brand an importer
    buys of one code), ``supplier_price_sigma`` (an exporter's price for one code), each drawn
    once per importer / importer × code / exporter × code; ``price_noise_sigma`` per item.

    Labels:
        about ``inspection_rate`` of declarations are inspected; ``random_inspection_share`` of
        those are picked at random, the rest by an imperfect risk score. An inspection finds a
        planted fraud with probability ``detection_rate``.
    """

    n_items: int = 200_000
    start: date = date(2024, 1, 1)
    days: int = 730
    seed: int = 42
    n_importers: int | None = None
    n_declarants: int | None = None
    n_exporters: int | None = None
    n_offices: int = 12
    n_hs_codes: int = 1_500
    items_per_declaration: float = 2.5
    currency: str = "XOF"
    home_country: str = "CI"
    vat_rate: float = 18.0
    repeat_goods_share: float = 0.75
    # unit-value spread (natural log): between traders, and per transaction
    importer_price_sigma: float = 0.25
    importer_goods_price_sigma: float = 0.15
    supplier_price_sigma: float = 0.12
    price_noise_sigma: float = 0.12
    # planted fraud
    undervaluation_rate: float = 0.03
    undervaluation_depth: tuple[float, float] = (0.2, 0.7)
    misclassification_rate: float = 0.015
    false_origin_rate: float = 0.01
    false_origin_disguised_share: float = 0.4
    concealment_rate: float = 0.008
    concealment_hidden_share: tuple[float, float] = (0.3, 0.7)
    risky_broker_share: float = 0.03
    risky_importer_share: float = 0.02
    risky_network_fraud_rate: float = 0.35
    n_bursts: int = 4
    burst_importers: int | None = None
    burst_declarations_per_importer: float = 6.0
    burst_window_days: int = 21
    burst_fraud_rate: float = 0.5
    # labels
    inspection_rate: float = 0.2
    random_inspection_share: float = 0.25
    detection_rate: float = 0.9
    extra_columns: tuple[str, ...] = field(default=("incoterm", "payment_type", "container"))

    # -- derived sizes ---------------------------------------------------------------------
    @property
    def importers(self) -> int:
        """Number of regular (non-burst) importers."""
        return self.n_importers if self.n_importers is not None else max(20, self.n_items // 40)

    @property
    def declarants(self) -> int:
        """Number of declarants (customs brokers)."""
        if self.n_declarants is not None:
            return self.n_declarants
        return max(5, self.importers // 25)

    @property
    def exporters(self) -> int:
        """Number of foreign exporters (sellers)."""
        return self.n_exporters if self.n_exporters is not None else max(20, self.n_items // 30)

    @property
    def importers_per_burst(self) -> int:
        """New importers per burst (default: one per 8,000 items, at least 3)."""
        if self.burst_importers is not None:
            return self.burst_importers
        return max(3, self.n_items // 8_000)

    def validate(self) -> SynthConfig:
        """Raise :class:`ValidationError` naming each out-of-range parameter; return self.

        >>> SynthConfig(n_items=4_000).validate().importers  # one importer per 40 items
        100
        >>> try:
        ...     SynthConfig(days=0, detection_rate=1.5).validate()
        ... except ValidationError as error:
        ...     print([(problem.field, problem.value) for problem in error.problems])
        [('days', '0'), ('detection_rate', '1.5')]
        """
        problems: list[Problem] = []

        def need(ok: bool, name: str, reason: str) -> None:
            if not ok:
                problems.append(Problem(name, repr(getattr(self, name)), reason))

        need(self.n_items >= 1, "n_items", "must be at least 1")
        need(self.days >= 1, "days", "must be at least 1")
        need(self.n_offices >= 1, "n_offices", "must be at least 1")
        need(self.n_hs_codes >= 20, "n_hs_codes", "must be at least 20")
        need(self.items_per_declaration >= 1, "items_per_declaration", "must be at least 1")
        for name in ("n_importers", "n_declarants", "n_exporters"):
            value = getattr(self, name)
            need(value is None or value >= 2, name, "must be None (automatic) or at least 2")
        for name in (
            "undervaluation_rate", "misclassification_rate", "false_origin_rate",
            "concealment_rate", "false_origin_disguised_share",
            "risky_broker_share", "risky_importer_share", "risky_network_fraud_rate",
            "burst_fraud_rate", "inspection_rate", "repeat_goods_share",
            "random_inspection_share", "detection_rate",
        ):
            need(0.0 <= getattr(self, name) <= 1.0, name, "must be between 0 and 1")
        share = (
            self.undervaluation_rate + self.misclassification_rate + self.false_origin_rate
            + self.concealment_rate
        )
        need(share <= 0.5, "undervaluation_rate", "the four item rates together must be <= 0.5")
        for name in ("undervaluation_depth", "concealment_hidden_share"):
            low, high = getattr(self, name)
            need(0.0 < low <= high < 1.0, name, "must be (low, high) with 0 < low <= high < 1")
        for name in ("importer_price_sigma", "importer_goods_price_sigma",
                     "supplier_price_sigma", "price_noise_sigma"):
            need(0.0 <= getattr(self, name) <= 2.0, name, "must be between 0 and 2")
        need(self.n_bursts >= 0, "n_bursts", "must be >= 0")
        need(
            self.burst_importers is None or self.burst_importers >= 1,
            "burst_importers",
            "must be None (automatic) or >= 1",
        )
        need(self.burst_window_days >= 1, "burst_window_days", "must be >= 1")
        need(len(self.currency) == 3 and self.currency.isalpha(), "currency", "ISO 4217 code")
        need(len(self.home_country) == 2, "home_country", "ISO 3166-1 alpha-2 code")
        if problems:
            raise ValidationError("invalid synthetic data configuration", problems)
        return self
