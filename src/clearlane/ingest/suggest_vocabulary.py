"""The words that name each canonical field in customs exports, for `profile suggest`.

English SAD box labels, ASYCUDA World database names (``SAD_REG_NBER``, ``KEY_CUO``,
``SADITM_CTY_ORIGCOD`` …), French labels of West and Central African exports (``Bureau``,
``Date d'enregistrement``, ``Valeur CAF``, ``Droits et taxes``, ``Résultat de la visite`` …)
and a few Arabic transliterations used in MENA exports (``bayan``, ``mustawrid`` …).

Names are compared as token sequences after :func:`name_tokens`: accents and case dropped,
abbreviations expanded (``Reg.`` → registration, ``Nber``/``No``/``N°`` → number, ``Cty`` →
country, ``CAF`` → cif …), little words dropped (of, de, du, la, al …). A synonym ending in
``?`` is weak: it names the field only loosely (``value``, ``date``, ``rate``), so a match
counts for less than a match on a specific synonym.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

ABBREVIATIONS: dict[str, str] = {
    # numbers and references
    "nber": "number", "nbr": "number", "num": "number", "no": "number", "nb": "number",
    "nr": "number", "n": "number", "numero": "number", "nro": "number", "raqm": "number",
    "ref": "reference",
    # registration and declaration documents (SAD = SGD = DAU = DUM = bayan)
    "reg": "registration", "regn": "registration", "enregistrement": "registration",
    "enreg": "registration", "sgd": "sad", "dau": "sad", "dum": "sad", "bayan": "sad",
    "decl": "declaration",
    # places and parties
    "cuo": "office", "bureau": "office", "maktab": "office", "cty": "country", "ctry": "country",
    "pays": "country", "balad": "country", "bilad": "country", "orig": "origin",
    "origine": "origin", "mansha": "origin", "importateur": "importer", "mustawrid": "importer",
    "exportateur": "exporter", "musaddir": "exporter", "nif": "tin", "ifu": "tin", "ncc": "tin",
    "inspecteur": "inspector", "verificateur": "inspector",
    # goods
    "desc": "description", "dsc": "description", "designation": "description",
    "libelle": "description", "wasf": "description", "itm": "item", "article": "item",
    "art": "item", "qty": "quantity", "qte": "quantity", "quantite": "quantity",
    "kammiya": "quantity", "supp": "supplementary", "suppl": "supplementary",
    "complementaire": "supplementary", "complementaires": "supplementary", "units": "unit",
    "unite": "unit", "unites": "unit", "uom": "unit", "masse": "mass", "poids": "mass",
    "weight": "mass", "wt": "mass", "wazn": "mass", "brut": "gross", "brute": "gross",
    "nette": "net", "safi": "net", "sh": "hs", "hsc": "hs", "tarif": "tariff", "tar": "tariff",
    "tarifaire": "tariff", "cod": "code",
    # money
    "val": "value", "valeur": "value", "qima": "value", "qimat": "value", "caf": "cif",
    "fab": "fob", "cur": "currency", "curr": "currency", "devise": "currency",
    "monnaie": "currency", "umla": "currency", "taux": "rate", "rat": "rate", "exch": "exchange",
    "change": "exchange", "taxes": "tax", "taxe": "tax", "droits": "duty", "droit": "duty",
    "duties": "duty", "rusum": "duty", "tot": "total", "amt": "amount", "montant": "amount",
    "statistique": "statistical", "stat": "statistical",
    # dates and control
    "dt": "date", "dat": "date", "tarikh": "date", "visite": "inspection",
    "examen": "inspection", "examination": "inspection", "exam": "inspection",
    "controle": "inspection", "fahs": "inspection", "insp": "inspection", "resultat": "result",
    "natija": "result", "examined": "inspected", "visited": "inspected", "inspecte": "inspected",
    "couleur": "colour", "clr": "colour", "color": "colour", "channel": "lane", "circuit": "lane",
    "redressement": "recovered", "redresses": "recovered", "recouvre": "recovered",
    "constat": "finding", "constatations": "finding", "findings": "finding",
    "observations": "remarks", "mulahazat": "remarks",
}

STOPWORDS = frozenset(
    {"of", "the", "de", "du", "des", "la", "le", "les", "d", "l", "en", "a", "au", "aux", "per",
     "in", "par", "et", "and", "for", "pour", "by", "at", "on", "al", "el", "s"}
)

SYNONYMS: dict[str, tuple[str, ...]] = {
    "declaration_id": (
        "declaration id", "declaration number", "declaration reference", "customs reference",
        "sad number", "sad reference", "sad id", "registration number", "sad reg number",
        "entry number", "bill of entry number", "ucr", "number declaration",
        "reference declaration", "number sad", "declaration?", "reference?",
    ),
    "item_no": (
        "item", "item number", "item number sad", "line number", "goods item number",
        "item sequence", "itm number", "ligne?", "line?", "sequence?", "band",
    ),
    "declared_at": (
        "declaration date", "registration date", "sad reg date", "acceptance date",
        "date registration", "date declaration", "date sad", "lodgement date", "date?",
    ),
    "office_id": (
        "office", "office code", "customs office", "customs office code", "office declaration",
        "clearance office", "key office", "sad office code", "code office", "customs post",
        "port?", "station?", "markaz jumruki",
    ),
    "declarant_id": (
        "declarant", "declarant code", "declarant id", "declarant tin", "broker",
        "broker code", "customs broker", "clearing agent", "agent code", "commissionnaire",
        "code commissionnaire", "code declarant", "key dec", "transitaire", "mukhlis",
        "agent?",
    ),
    "importer_id": (
        "importer", "importer id", "importer code", "importer tin", "consignee",
        "consignee code", "consignee tin", "tin", "code importer", "tin importer",
        "destinataire", "sad consignee", "company code?",
    ),
    "exporter_id": (
        "exporter", "exporter id", "exporter code", "consignor", "seller", "seller id",
        "supplier", "supplier code", "shipper", "code exporter", "expediteur", "fournisseur",
        "vendeur", "sad exporter",
    ),
    "hs_code": (
        "hs", "hs code", "hs6", "hs6 code", "hs number", "commodity code", "tariff code",
        "tariff line", "tariff heading", "tariff", "code hs", "hs tariff", "position tariff",
        "nomenclature", "code tariff", "saditm hs code", "tariff hs number", "hscode",
        "band jumruki",
    ),
    "goods_description": (
        "description", "goods description", "description goods", "commercial description",
        "description commerciale", "description marchandises", "item description",
        "saditm goods description", "description bada i",
    ),
    "origin_country": (
        "origin", "country origin", "origin country", "coo", "saditm country origcod",
        "country origcod", "origin code", "code country origin",
    ),
    "departure_country": (
        "country export", "export country", "country departure", "departure country",
        "dispatch country", "country dispatch", "provenance", "country provenance",
        "country exportation", "country expedition", "consignment country",
        "country consignment", "sad country expcod", "country tasdir", "departure",
    ),
    "transport_mode": (
        "mode transport", "transport mode", "mode transport border", "border transport mode",
        "mot", "sad mot bord", "mode transport frontiere", "transport?", "wasilat naql",
    ),
    "quantity": (
        "quantity", "supplementary unit", "supplementary quantity", "saditm supplementary unit",
        "number unit", "quantity supplementary", "quantity declared",
    ),
    "quantity_unit": (
        "quantity unit", "unit code", "supplementary unit code", "unit measure", "code unit",
        "unit quantity", "uom code", "unit?",
    ),
    "net_mass_kg": (
        "net mass", "net mass kg", "mass net", "mass net kg", "saditm net mass", "net",
    ),
    "gross_mass_kg": (
        "gross mass", "gross mass kg", "mass gross", "mass gross kg", "saditm gross mass",
    ),
    "customs_value": (
        "customs value", "cif value", "cif", "value cif", "value cif national currency",
        "value customs", "taxable value", "dutiable value", "value taxable", "assessed value",
        "vit cif", "value?", "statistical value?", "item price?", "saditm statistical value?",
        "qima jumrukiya",
    ),
    "fob_value": ("fob", "fob value", "value fob", "vit fob", "invoice value?"),
    "currency": (
        "currency", "invoice currency", "currency code", "code currency", "sad currency code",
        "currency invoice",
    ),
    "tax_rate": (
        "duty rate", "tax rate", "rate duty", "customs duty rate", "rate duty customs",
        "tariff rate", "rate customs duty", "duty rate percent", "rate?",
    ),
    "taxes_paid": (
        "total taxes", "total tax", "duty tax", "total duty tax", "duty and tax",
        "total duty and tax", "tax paid", "duty paid", "tax amount", "sad total tax",
        "total tax amount", "amount duty tax", "majmu duty", "total duty", "liquidation",
        "tax?", "duty?",
    ),
    "inspected": (
        "inspected", "inspection", "physical inspection", "controlled", "inspection flag",
        "inspection done",
    ),
    "inspection_basis": (
        "selection basis", "selection reason", "selection criterion", "selectivity criterion",
        "selectivity", "inspection basis", "motif selection", "criterion selection",
        "type inspection", "reason selection", "selection?",
    ),
    "fraud": (
        "fraud", "fraudulent", "offence", "infraction", "inspection result",
        "result inspection", "contentieux", "discrepancy", "irregularity", "mukhalafa",
        "result?",
    ),
    "revenue_recovered": (
        "revenue recovered", "additional revenue", "additional tax", "additional duty",
        "additional tax inspection", "recovered", "amount recovered", "supplementary tax",
        "duty recovered", "tax recovered", "additional tax raised", "tax raised inspection",
        "tax raised", "duty raised", "complement duty",
        "tax additionnelles",
    ),
    "critical": ("critical", "critical fraud", "serious", "serious offence", "severity",
                 "infraction grave", "gravite"),
    "finding": (
        "finding", "inspection finding", "inspection act", "inspection report",
        "inspection remarks", "remarks?", "rapport inspection", "compte rendu inspection",
    ),
    "inspected_at": (
        "inspection date", "date inspection", "inspected at", "date inspected",
    ),
    # Not (yet) canonical fields; used if the schema gains them.
    "lane": ("lane", "selectivity lane", "lane colour", "selectivity colour", "selectivity result",
             "sad colour"),
    "officer_id": (
        "officer", "officer code", "officer id", "inspector", "inspector code",
        "examining officer", "code inspector", "user code?", "agent douanes",
    ),
}

FORBIDDEN_TOKENS: dict[str, tuple[frozenset[str], str]] = {
    "officer_id": (frozenset({"office"}), "an office is not an officer"),
    "office_id": (frozenset({"officer", "inspector"}), "an officer is not an office"),
    "tax_rate": (frozenset({"exchange"}), "an exchange rate is not a tax rate"),
    "taxes_paid": (
        frozenset({"inspection", "additional", "recovered", "supplementary", "raised",
                   "penalty", "fine", "amende", "rate", "exchange"}),
        "tax raised by an inspection (or a rate) is not the tax paid on declaration",
    ),
    "customs_value": (frozenset({"fob", "tax", "duty"}), "not the CIF value"),
    "declared_at": (frozenset({"inspection"}), "an inspection date is not the declaration date"),
}
"""Words in a column name that rule a field out, with the reason shown to the user."""

KNOWN_EXTRAS: dict[str, str] = {
    "lane": "the selectivity lane (colour) has no canonical field",
    "colour": "the selectivity lane (colour) has no canonical field",
    "exchange": "the exchange rate has no canonical field (values are in national currency)",
    "vat": "one tax by type; their total is taxes_paid",
    "fee": "one tax by type; their total is taxes_paid",
    "cpc": "the customs procedure code has no canonical field",
    "procedure": "the customs procedure code has no canonical field",
    "model": "the declaration model (box 1) has no canonical field",
    "serial": "the registration serial is part of the declaration number",
}
"""Words of columns that ASYCUDA-like exports carry and the canonical schema does not, with
the reason they are kept as extras."""

NAME_WORDS = frozenset({"name", "nom", "raison", "sociale", "address", "adresse", "ism"})
"""Words that mark a column of names, never an identifier (``Importer Name``)."""

ID_FIELDS = frozenset(
    {"declaration_id", "office_id", "declarant_id", "importer_id", "exporter_id", "officer_id"}
)

NEGATED_TRUE = ("non conforme", "non-conforme", "not compliant", "non compliant",
                "non-compliant", "ghayr mutabiq")
"""Outcome values that mean yes although they start with a negation."""
TRUE_WORDS = ("discrepancy", "fraud", "infraction", "offence", "offense", "irregular",
              "positive", "hit", "seized", "saisie", "violation", "mukhalafa", "litige",
              "contentieux", "yes", "oui", "true")
FALSE_WORDS = ("no", "not", "none", "nil", "negative", "conforme", "compliant", "clean", "ras",
               "rien", "aucun", "aucune", "pas", "sans", "nothing", "false", "non", "without")


def name_tokens(name: str) -> tuple[str, ...]:
    """A column name as comparable words: accents, case, punctuation and little words gone."""
    text = name.replace("°", " number ").replace("º", " number ")
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)  # camelCase
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])", " ", text)
    words: list[str] = []
    for part in re.split(r"[^a-z0-9]+", text):
        if not part or part in STOPWORDS:
            continue
        words.extend(ABBREVIATIONS.get(part, part).split())
    return tuple(words)


@cache
def synonym_tokens(field: str) -> tuple[tuple[tuple[str, ...], float], ...]:
    """The field's own name and its synonyms as token sequences, with their weight (0-1)."""
    entries: list[tuple[tuple[str, ...], float]] = [(name_tokens(field), 1.0)]
    for synonym in SYNONYMS.get(field, ()):
        weak = synonym.endswith("?")
        entries.append((name_tokens(synonym.rstrip("?")), 0.8 if weak else 1.0))
    return tuple(entries)
