"""Customer tax ids: each type's format and check digits verified offline with python-stdnum.

An EU VAT id is only *well formed* after this check; whether it is registered is what the EU's VIES
service answers, which selfserve does not ask (a merchant who must confirm it does so in VIES itself).
"""

from __future__ import annotations

from types import ModuleType

from stdnum import exceptions
from stdnum.au import abn
from stdnum.ca import bn
from stdnum.ch import vat as ch_vat
from stdnum.eu import vat as eu_vat
from stdnum.gb import vat as gb_vat
from stdnum.no import mva
from stdnum.us import ein

from server.errors import Invalid

TAX_ID_TYPES: dict[str, tuple[str, ModuleType]] = {
    "eu_vat": ("EU VAT number", eu_vat),
    "gb_vat": ("UK VAT number", gb_vat),
    "ch_vat": ("Swiss VAT number", ch_vat),
    "no_vat": ("Norwegian VAT number", mva),
    "au_abn": ("Australian Business Number", abn),
    "ca_bn": ("Canadian Business Number", bn),
    "us_ein": ("US Employer Identification Number", ein),
}
"""Type → (label, stdnum module). The value is stored compact (no spaces or dots)."""
GREECE_PREFIX = "EL"


def validate_tax_id(kind: str, value: str) -> str:
    """The compact form of ``value`` when it is a well-formed id of type ``kind``; an empty value clears
    it. Invalid otherwise, saying what was expected."""
    value = value.strip()
    if not value:
        return ""
    if kind not in TAX_ID_TYPES:
        raise Invalid(f"tax_id_type must be one of: {', '.join(TAX_ID_TYPES)}")
    label, module = TAX_ID_TYPES[kind]
    try:
        return str(module.validate(value))
    except exceptions.ValidationError as exc:
        raise Invalid(f"{value!r} is not a valid {label} ({str(exc).lower().rstrip('.')})") from exc


def eu_vat_country(kind: str, value: str) -> str:
    """The member state (ISO code) of a well-formed EU VAT id, else empty."""
    if kind != "eu_vat" or not value or not eu_vat.is_valid(value):
        return ""
    prefix = eu_vat.compact(value)[:2]
    return "GR" if prefix == GREECE_PREFIX else prefix
