"""Customer tax ids: each type's format and check digits verified offline with python-stdnum.

An EU VAT id is only *well formed* after this check; whether it is registered is what the EU's VIES
service answers. A merchant may have the portal ask VIES too (``features.vies_check``, off by default):
VIES's "not registered" refuses the id; VIES down, slow or answering nonsense leaves the format check's
verdict, and the customer is told so — an outage of VIES never stops anyone saving their details.
"""

from __future__ import annotations

from enum import StrEnum
from types import ModuleType

import httpx
import msgspec
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
VIES_URL = "https://ec.europa.eu/taxation_customs/vies/rest-api/check-vat-number"
"""The EU's VIES REST API (``POST`` ``{"countryCode", "vatNumber"}`` → ``{"valid": …}``)."""
VIES_TIMEOUT = 5.0


class ViesVerdict(StrEnum):
    REGISTERED = "registered"
    NOT_REGISTERED = "not_registered"
    UNAVAILABLE = "unavailable"
    """VIES did not answer (down, slow, a member state's register offline): only the format is known."""


class _ViesAnswer(msgspec.Struct):
    valid: bool


async def online_verdict(enabled: bool, kind: str, value: str) -> ViesVerdict | None:
    """VIES's verdict on a customer's well-formed EU VAT id when the merchant has it asked (``enabled``);
    None when VIES is not asked (off, another type of id, or no id)."""
    if not enabled or kind != "eu_vat" or not value.strip():
        return None
    return await vies_verdict(validate_tax_id(kind, value))


async def vies_verdict(value: str) -> ViesVerdict:
    """Whether VIES lists a well-formed EU VAT id ``value`` as registered."""
    compact = eu_vat.compact(value)  # Greece's ids start EL, as VIES names it
    asked = {"countryCode": compact[:2], "vatNumber": compact[2:]}
    try:
        async with httpx.AsyncClient(timeout=VIES_TIMEOUT) as client:
            response = await client.post(VIES_URL, json=asked)
        response.raise_for_status()
        answer = msgspec.json.decode(response.content, type=_ViesAnswer)
    except (httpx.HTTPError, msgspec.DecodeError, msgspec.ValidationError):
        return ViesVerdict.UNAVAILABLE
    return ViesVerdict.REGISTERED if answer.valid else ViesVerdict.NOT_REGISTERED


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
