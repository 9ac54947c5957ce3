"""Normalisation of goods descriptions as declarants write them.

Real declaration text reads ``23 BAGS X 11KGS JASMINE RICE`` or ``1 UNIT USED 2015 TOYOTA
COROLLA SALOON CAR``: capitals, quantities and units, packaging words, years, brands,
abbreviations, typos and several languages. :func:`normalise_description` turns it into
lower-case English-leaning tokens that the classifier's n-gram features can match against
nomenclature texts; typos are left to character n-grams, which tolerate them.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Quantities with units ("11KGS", "2 X 500 ML", "40FT") and packaging counts ("23 BAGS").
_UNITS = (
    r"kgs?|kilos?|kilogrammes?|kilograms?|grams?|grammes?|gr|g|mg|tons?|tonnes?|mt|t|lbs?|oz|"
    r"ltrs?|litres?|liters?|l|ml|cl|m|mm|cm|km|ft|inch(?:es)?|in|m2|m3|sqm|cbm|"
    r"pcs?|pieces?|units?|nos?|nr|prs?|pairs?|sets?|dozens?|doz|"
    r"bags?|sacs?|ctns?|cartons?|cases?|boxes|box|bales?|drums?|rolls?|bundles?|pallets?|"
    r"packs?|packages?|pkgs?|bottles?|cans?|tins?|jars?|containers?|ctrs?|"
    r"colis|pieces|unites|cartons|fut|futs|balles|v|w|kw|kva|hp|cc|mah|gb|tb"
)
_QUANTITY = re.compile(rf"\b\d+(?:[.,]\d+)?\s*(?:x\s*)?(?:{_UNITS})\b")
_MULTIPLIER = re.compile(r"\b\d+\s*x\s*\d+\b|\bx\b")
_NUMBER = re.compile(r"\b\d+(?:[.,]\d+)*\b")
_NON_WORD = re.compile(r"[^a-z0-9 ]+")
_SPACES = re.compile(r"\s+")
_TSHIRT = re.compile(r"\bt[\s-]?shirts?\b")

# Abbreviations seen on declarations and invoices → words used in the nomenclature.
ABBREVIATIONS: dict[str, str] = {
    "s/s": "stainless steel",
    "ss": "stainless steel",
    "gi": "galvanised iron",
    "pvc": "polyvinyl chloride plastic",
    "pp": "polypropylene",
    "pe": "polyethylene",
    "hdpe": "polyethylene",
    "ldpe": "polyethylene",
    "pet": "polyethylene terephthalate",
    "tv": "television",
    "tvs": "television",
    "pc": "computer",
    "cpu": "processing unit computer",
    "hdd": "hard disk drive storage",
    "ssd": "solid state storage",
    "led": "light emitting diode lamp",
    "lcd": "liquid crystal display",
    "ac": "air conditioning",
    "a/c": "air conditioning",
    "veh": "vehicle",
    "mtr": "motor",
    "m/c": "motorcycle",
    "eqpt": "equipment",
    "equip": "equipment",
    "accs": "accessories",
    "acc": "accessories",
    "asst": "assorted",
    "assd": "assorted",
    "frzn": "frozen",
    "frz": "frozen",
    "bnls": "boneless",
    "qtrs": "quarters",
    "rtw": "ready to wear",
    "tee": "tshirt",
    "tees": "tshirt",
    "hoodie": "sweatshirt",
    "jeans": "trousers denim",
    "sneakers": "sports footwear shoes",
    "mobile": "mobile telephone smartphone",
    "phone": "telephone",
    "phones": "telephone",
    "cellular": "telephone smartphone",
    "cellphone": "mobile telephone smartphone",
    "smartphone": "smartphone telephone",
    "laptop": "portable computer",
    "notebook": "portable computer",
    "tablet": "portable computer",
    "fridge": "refrigerator",
    "aircon": "air conditioning",
    "genset": "generating set",
    "saloon": "motor car",
    "sedan": "motor car",
    "suv": "motor car vehicle",
    "hatchback": "motor car",
    "lorry": "motor vehicle goods transport",
    "truck": "motor vehicle goods transport",
    "tyres": "tyres",
    "tires": "tyres",
    "tire": "tyres",
    "aluminum": "aluminium",
    "color": "colour",
    "jewelry": "jewellery",
}

# Brands that say what the goods are when the description says little else.
BRANDS: dict[str, str] = {
    **dict.fromkeys(
        [
            "toyota",
            "honda",
            "nissan",
            "mazda",
            "mitsubishi",
            "hyundai",
            "kia",
            "peugeot",
            "renault",
            "volkswagen",
            "vw",
            "bmw",
            "mercedes",
            "benz",
            "audi",
            "ford",
            "chevrolet",
            "lexus",
            "subaru",
            "suzuki",
        ],
        "motor car vehicle",
    ),
    **dict.fromkeys(
        ["iphone", "galaxy", "tecno", "infinix", "itel", "xiaomi", "redmi", "huawei"], "smartphone"
    ),
    **dict.fromkeys(["macbook", "thinkpad"], "portable computer"),
    **dict.fromkeys(["nike", "adidas", "puma"], "sports apparel footwear"),
}

# French (and a few Spanish/Portuguese) words seen on West/Central African declarations.
FRENCH: dict[str, str] = {
    "riz": "rice",
    "sucre": "sugar",
    "farine": "flour",
    "ble": "wheat",
    "mais": "maize",
    "huile": "oil",
    "lait": "milk",
    "poisson": "fish",
    "poissons": "fish",
    "viande": "meat",
    "poulet": "chicken",
    "volaille": "poultry",
    "boeuf": "beef",
    "porc": "pork",
    "congele": "frozen",
    "congeles": "frozen",
    "congelee": "frozen",
    "frais": "fresh",
    "tomate": "tomato",
    "tomates": "tomatoes",
    "concentre": "concentrated",
    "oignons": "onions",
    "pates": "pasta",
    "alimentaires": "food",
    "sel": "salt",
    "the": "tea",
    "cafe": "coffee",
    "cacao": "cocoa",
    "boissons": "beverages",
    "biere": "beer",
    "vin": "wine",
    "eau": "water",
    "tabac": "tobacco",
    "cigarettes": "cigarettes",
    "ciment": "cement",
    "fer": "iron",
    "acier": "steel",
    "inox": "stainless steel",
    "aluminium": "aluminium",
    "cuivre": "copper",
    "tole": "sheet",
    "toles": "sheets",
    "tuyaux": "tubes pipes",
    "tube": "tube",
    "voiture": "motor car",
    "voitures": "motor cars",
    "vehicule": "vehicle",
    "vehicules": "vehicles",
    "occasion": "used",
    "usage": "used",
    "usagee": "used",
    "camion": "lorry goods vehicle",
    "moto": "motorcycle",
    "motos": "motorcycles",
    "pneus": "tyres",
    "pneumatiques": "tyres",
    "pieces": "parts",
    "detachees": "spare",
    "rechange": "spare",
    "moteur": "engine",
    "chaussures": "footwear shoes",
    "vetements": "clothing garments",
    "friperie": "worn clothing",
    "tissu": "fabric",
    "tissus": "fabrics",
    "coton": "cotton",
    "laine": "wool",
    "soie": "silk",
    "chemise": "shirt",
    "chemises": "shirts",
    "pantalon": "trousers",
    "pantalons": "trousers",
    "robe": "dress",
    "robes": "dresses",
    "sac": "bag",
    "sacs": "bags",
    "homme": "men",
    "hommes": "men",
    "femme": "women",
    "femmes": "women",
    "enfant": "children",
    "enfants": "children",
    "telephone": "telephone",
    "telephones": "telephones",
    "portable": "mobile",
    "portables": "mobile",
    "ordinateur": "computer",
    "ordinateurs": "computers",
    "televiseur": "television",
    "televiseurs": "television",
    "refrigerateur": "refrigerator",
    "climatiseur": "air conditioning",
    "groupe": "set",
    "electrogene": "generating",
    "medicaments": "medicaments",
    "engrais": "fertilisers",
    "savon": "soap",
    "parfum": "perfume",
    "meubles": "furniture",
    "meuble": "furniture",
    "bois": "wood",
    "papier": "paper",
    "plastique": "plastic",
    "plastiques": "plastics",
    "verre": "glass",
    "jouets": "toys",
    "jouet": "toy",
    "lampe": "lamp",
    "lampes": "lamps",
    "cables": "cables",
    "fils": "wire",
    "machine": "machine",
    "machines": "machines",
    "pompe": "pump",
    "pompes": "pumps",
    "outils": "tools",
    "beurre": "butter",
    "fromage": "cheese",
    "oeufs": "eggs",
    "fruits": "fruit",
    "legumes": "vegetables",
    "arachide": "groundnuts",
    "arachides": "groundnuts",
    "cajou": "cashew",
    "noix": "nuts",
    "et": "and",
    "de": "of",
    "du": "of",
    "des": "of",
    "en": "of",
    "pour": "for",
    "avec": "with",
    "sans": "without",
    "ou": "or",
}

_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "and",
        "or",
        "for",
        "with",
        "to",
        "in",
        "on",
        "by",
        "from",
        "at",
        "as",
        "per",
        "new",
        "brand",
        "quality",
        "high",
        "hot",
        "sale",
        "free",
        "shipping",
        "best",
        "top",
        "pcs",
        "lot",
        "assorted",
        "various",
        "said",
        "goods",
        "item",
        "items",
        "no",
        "nos",
        "description",
        "declared",
    ]
)


def strip_accents(text: str) -> str:
    """``Véhicule`` → ``Vehicule``."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@lru_cache(maxsize=65_536)
def normalise_description(text: str, expand: bool = True) -> str:
    """Lower-case, accent-free tokens with quantities, units, numbers and filler words removed,
    abbreviations, brands and French words expanded to nomenclature English.

    Token order is kept. ``expand=False`` (used for official texts) skips the expansions, which
    are meant for declarants' words and would blur the nomenclature's own.

    >>> normalise_description("23 BAGS X 11KGS JASMINE RICE")
    'jasmine rice'
    >>> normalise_description("1 UNIT USED 2015 TOYOTA COROLLA SALOON CAR")
    'used toyota motor car vehicle corolla saloon motor car car'
    >>> normalise_description("Riz brisé 25 kg")
    'riz rice brise'
    """
    lowered = strip_accents(text).lower().replace("&", " and ")
    for short in ("s/s", "a/c", "m/c"):
        lowered = lowered.replace(short, short.replace("/", ""))
    lowered = _TSHIRT.sub(" tshirt ", lowered)
    lowered = _QUANTITY.sub(" ", lowered)
    lowered = _MULTIPLIER.sub(" ", lowered)
    lowered = _NUMBER.sub(" ", lowered)
    lowered = _NON_WORD.sub(" ", lowered)
    out: list[str] = []
    for token in lowered.split():
        if token in _STOP or len(token) < 2:
            continue
        out.append(token)
        if not expand:
            continue
        expansion = (
            ABBREVIATIONS.get(token)
            or ABBREVIATIONS.get(token.replace("/", ""))
            or BRANDS.get(token)
            or FRENCH.get(token)
        )
        if expansion and expansion != token:
            out.extend(w for w in expansion.split() if w not in _STOP)
    return _SPACES.sub(" ", " ".join(out)).strip()


def stem(token: str) -> str:
    """A light English plural stemmer (``shirts`` → ``shirt``, ``boxes`` → ``box``); the
    nomenclature uses plurals and declarations singulars, and both must meet."""
    if len(token) > 4 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 4 and token.endswith(("ches", "shes", "xes", "sses")):
        return token[:-2]
    if len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def tokens(normalised: str) -> list[str]:
    """Stemmed word tokens of an already normalised text (the vectorisers' word analyser)."""
    return [stem(t) for t in normalised.split()]
