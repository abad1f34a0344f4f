"""Tax: the merchant's registrations and rates, customers' tax ids, and the tax of every order line.

One computation serves the previews and the orders they preview (``compute``), so a preview and the order it
announces carry the same figures. Money stays in integer minor units: each line's tax is rounded half up
(away from zero, so a credit line mirrors its charge) on its own; a rate's tax is the sum of its lines' taxes,
so the per-rate lines, the order and its lines always add up to the same totals.

Which rate applies to a line (``treatment``):

1. a product marked ``exempt`` is never taxed;
2. a business customer with a valid EU VAT id in another member state than the merchant's EU home country
   pays no VAT: reverse charge, 0 % with the legal note;
3. otherwise the merchant's most specific active rate for the customer's country (then region, then the
   longest postal code prefix) applies; a price is tax-inclusive when the product says so, or when the
   product follows the rate (``taxable``) and the rate is inclusive;
4. no rate for the customer's country: nothing is charged (exports outside the merchant's countries, or a
   merchant who set no tax up at all).

A customer without a billing country is taxed as one in the merchant's home country (its first registration).
Filing, registration thresholds and whether a rate is right stay the merchant's responsibility.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any
from uuid import UUID

import msgspec

from server import clock
from server.countries import CODES
from server.db.engine import write_transaction
from server.db.tables import Customer, Price, TaxRate, TaxRegistration
from server.enums import TaxBehavior
from server.errors import Invalid, NotFound
from server.tax.tax_ids import eu_vat_country

EU_MEMBERS = frozenset(
    {
        *("AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU"),
        *("IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"),
    }
)
REVERSE_CHARGE = "Reverse charge"
REVERSE_CHARGE_NOTE = (
    "Reverse charge: VAT to be accounted for by the recipient (Article 196, Council Directive 2006/112/EC)."
)
EXEMPT = "Tax exempt"
MAX_PERCENTAGE = Decimal(100)


class LineTax(msgspec.Struct, kw_only=True, frozen=True):
    """One line's tax: ``net`` before tax, ``tax`` on top; ``rate`` empty when no tax applies."""

    net: int
    tax: int
    name: str = ""
    rate: str = ""


class TaxLine(msgspec.Struct, kw_only=True, frozen=True):
    """One rate of a document: its name, percentage (a decimal string), and the net and tax of its lines."""

    name: str
    rate: str
    net: int
    tax: int


class TaxResult(msgspec.Struct, kw_only=True, frozen=True):
    lines: list[LineTax]
    tax_lines: list[TaxLine]
    subtotal: int
    """The lines' nets."""
    tax_amount: int
    reverse_charge: bool = False
    seller_tax_number: str = ""

    @property
    def total(self) -> int:
        return self.subtotal + self.tax_amount


class Treatment(msgspec.Struct, kw_only=True, frozen=True):
    """How a line is taxed: ``rate`` None when no tax applies."""

    name: str = ""
    rate: Decimal | None = None
    inclusive: bool = False


NO_TAX = Treatment()


# -- arithmetic ---------------------------------------------------------------------------------------------


def round_half_up(value: Fraction) -> int:
    """The nearest integer, halves away from zero (2.5 → 3, -2.5 → -3)."""
    magnitude = (abs(value.numerator) * 2 + value.denominator) // (2 * value.denominator)
    return magnitude if value >= 0 else -magnitude


def percent_text(rate: Decimal) -> str:
    """A percentage as the API and documents show it: "19", "8.875", "0"."""
    text = format(rate.normalize(), "f")
    return "0" if text in {"-0", "0"} else text


def line_tax(amount: int, treatment: Treatment) -> LineTax:
    """Split one line: an exclusive rate adds its tax to ``amount``, an inclusive one takes it out of it."""
    if treatment.rate is None:
        return LineTax(net=amount, tax=0)
    rate = Fraction(treatment.rate)
    if treatment.inclusive:
        tax = round_half_up(amount * rate / (100 + rate))
        net = amount - tax
    else:
        tax, net = round_half_up(amount * rate / 100), amount
    return LineTax(net=net, tax=tax, name=treatment.name, rate=percent_text(treatment.rate))


def tax_lines(lines: Iterable[LineTax]) -> list[TaxLine]:
    """Per (name, rate), in the order rates first appear: the sum of the nets and of the (rounded) taxes."""
    totals: dict[tuple[str, str], list[int]] = {}
    for line in lines:
        if line.rate:
            figures = totals.setdefault((line.name, line.rate), [0, 0])
            figures[0] += line.net
            figures[1] += line.tax
    return [TaxLine(name=name, rate=rate, net=net, tax=tax) for (name, rate), (net, tax) in totals.items()]


def apply(amounts: Sequence[int], treatments: Sequence[Treatment], **details: Any) -> TaxResult:
    """The tax of lines costing ``amounts`` (as priced), each taxed as its treatment says."""
    lines = [line_tax(amount, treatment) for amount, treatment in zip(amounts, treatments, strict=True)]
    return TaxResult(
        lines=lines,
        tax_lines=tax_lines(lines),
        subtotal=sum(line.net for line in lines),
        tax_amount=sum(line.tax for line in lines),
        **details,
    )


# -- rates and registrations --------------------------------------------------------------------------------


def _country(code: str) -> str:
    code = code.strip().upper()
    if code not in CODES:
        raise Invalid(f"{code!r} is not an ISO 3166-1 alpha-2 country code")
    return code


def _percentage(value: Decimal | float | str) -> str:
    try:
        rate = Decimal(str(value))
    except InvalidOperation as exc:
        raise Invalid("percentage is a number from 0 to 100") from exc
    if not rate.is_finite() or not 0 <= rate <= MAX_PERCENTAGE or rate.as_tuple().exponent < -4:  # type: ignore[operator]
        raise Invalid("percentage is a number from 0 to 100 with at most 4 decimals")
    return percent_text(rate)


def _one_line(value: str, field: str, length: int, *, required: bool = False) -> str:
    value = value.strip()
    if len(value) > length or any(ord(c) < 32 or 127 <= ord(c) < 160 for c in value):
        raise Invalid(f"{field} is one line of at most {length} characters")
    if required and not value:
        raise Invalid(f"{field} is required")
    return value


async def create_rate(
    org_id: UUID,
    *,
    country: str,
    percentage: Decimal | float | str,
    name: str,
    inclusive: bool = False,
    region: str = "",
    postal_prefix: str = "",
) -> TaxRate:
    now = clock.now()
    rate = TaxRate(
        id=uuid.uuid4(),
        org=org_id,
        country=_country(country),
        region=_one_line(region, "region", 64),
        postal_prefix=_one_line(postal_prefix, "postal_prefix", 16).upper(),
        percentage=_percentage(percentage),
        name=_one_line(name, "name", 40, required=True),
        inclusive=inclusive,
        active=True,
        created_at=now,
        updated_at=now,
    )
    async with write_transaction():
        await rate.save()
    return rate


async def get_rate(org_id: UUID, rate_id: UUID) -> TaxRate:
    rate = await TaxRate.objects().where(TaxRate.org == org_id, TaxRate.id == rate_id).first()
    if rate is None:
        raise NotFound(f"no tax rate {rate_id}")
    return rate


async def list_rates(org_id: UUID, *, country: str | None = None) -> list[TaxRate]:
    query = TaxRate.objects().where(TaxRate.org == org_id)
    if country:
        query = query.where(TaxRate.country == country.strip().upper())
    return list(await query.order_by(TaxRate.country).order_by(TaxRate.created_at))


async def update_rate(org_id: UUID, rate_id: UUID, **changes: Any) -> TaxRate:
    """Change a rate's name, percentage, inclusiveness or whether it is active (None: unchanged). Issued
    orders keep the figures they were computed with."""
    rate = await get_rate(org_id, rate_id)
    if changes.get("name") is not None:
        rate.name = _one_line(changes["name"], "name", 40, required=True)
    if changes.get("percentage") is not None:
        rate.percentage = _percentage(changes["percentage"])
    for field in ("inclusive", "active"):
        if changes.get(field) is not None:
            setattr(rate, field, bool(changes[field]))
    rate.updated_at = clock.now()
    async with write_transaction():
        await rate.save()
    return rate


async def add_registration(
    org_id: UUID, *, country: str, tax_number: str, region: str = ""
) -> TaxRegistration:
    """Record where the merchant collects tax; the first one is its home country."""
    registration = TaxRegistration(
        id=uuid.uuid4(),
        org=org_id,
        country=_country(country),
        region=_one_line(region, "region", 64),
        tax_number=_one_line(tax_number, "tax_number", 64, required=True),
        created_at=clock.now(),
    )
    async with write_transaction():
        await registration.save()
    return registration


async def list_registrations(org_id: UUID) -> list[TaxRegistration]:
    return list(
        await TaxRegistration.objects()
        .where(TaxRegistration.org == org_id)
        .order_by(TaxRegistration.created_at)
    )


# -- what applies -------------------------------------------------------------------------------------------


class Buyer(msgspec.Struct, kw_only=True, frozen=True):
    """Where a customer is and whether they are a business with a valid VAT id (and from where)."""

    country: str = ""
    region: str = ""
    postal_code: str = ""
    eu_vat_country: str = ""
    """The member state of a valid EU VAT id, else empty."""


class Seller(msgspec.Struct, kw_only=True, frozen=True):
    registrations: list[tuple[str, str, str]]
    """(country, region, tax number), oldest (the home country) first."""
    rates: list[TaxRate]

    @property
    def home(self) -> str:
        return self.registrations[0][0] if self.registrations else ""

    def tax_number(self, country: str, region: str) -> str:
        """The registration that taxes a buyer in ``country``/``region``, else the home one."""
        for wanted in ((country, region.casefold()), (country, "")):
            for reg_country, reg_region, number in self.registrations:
                if (reg_country, reg_region.casefold()) == wanted:
                    return number
        return self.registrations[0][2] if self.registrations else ""


def buyer_of(customer: Customer | None, seller_home: str) -> Buyer:
    if customer is None:
        return Buyer(country=seller_home)
    raw = customer.billing_address
    address: dict[str, Any] = dict(
        (msgspec.json.decode(raw or "{}") if isinstance(raw, str | bytes) else raw) or {}
    )
    return Buyer(
        country=str(address.get("country") or "").upper() or seller_home,
        region=str(address.get("state") or ""),
        postal_code=str(address.get("postal_code") or "").replace(" ", "").upper(),
        eu_vat_country=eu_vat_country(customer.tax_id_type, customer.tax_id),
    )


def reverse_charged(seller: Seller, buyer: Buyer) -> bool:
    """EU B2B across a border: the buyer's valid VAT id is from their own member state, another than the
    merchant's EU home country."""
    return (
        seller.home in EU_MEMBERS
        and buyer.country in EU_MEMBERS
        and buyer.eu_vat_country == buyer.country
        and buyer.country != seller.home
    )


def matching_rate(rates: Iterable[TaxRate], buyer: Buyer) -> TaxRate | None:
    """The most specific active rate for the buyer's place: postal prefix, then region, then country."""
    candidates = [
        rate
        for rate in rates
        if rate.active
        and rate.country == buyer.country
        and (not rate.region or rate.region.casefold() == buyer.region.casefold())
        and buyer.postal_code.startswith(rate.postal_prefix)
    ]
    return max(candidates, key=lambda r: (len(r.postal_prefix), bool(r.region)), default=None)


def treatment(behavior: str, seller: Seller, buyer: Buyer) -> Treatment:
    if behavior == TaxBehavior.EXEMPT:
        return Treatment(name=EXEMPT, rate=Decimal(0)) if seller.registrations else NO_TAX
    if reverse_charged(seller, buyer):
        return Treatment(name=REVERSE_CHARGE, rate=Decimal(0))
    rate = matching_rate(seller.rates, buyer)
    if rate is None:
        return NO_TAX
    inclusive = behavior == TaxBehavior.INCLUSIVE or (
        behavior == TaxBehavior.TAXABLE and bool(rate.inclusive)
    )
    return Treatment(name=rate.name, rate=Decimal(rate.percentage), inclusive=inclusive)


async def seller_of(org_id: UUID) -> Seller:
    registrations = await list_registrations(org_id)
    rates = await TaxRate.objects().where(TaxRate.org == org_id, TaxRate.active.eq(True))
    return Seller(
        registrations=[(r.country, r.region, r.tax_number) for r in registrations], rates=list(rates)
    )


async def _behaviors(org_id: UUID, price_ids: set[Any]) -> dict[str, str]:
    """Each price's product tax behaviour (one query, the product joined)."""
    if not price_ids:
        return {}
    prices = await Price.select(Price.id, Price.product.tax_behavior.as_alias("tax_behavior")).where(
        Price.org == org_id, Price.id.is_in(list(price_ids))
    )
    return {str(p["id"]): p["tax_behavior"] or TaxBehavior.TAXABLE for p in prices}


async def compute(org_id: UUID, customer_id: UUID, lines: Sequence[Any]) -> TaxResult:
    """The tax of ``lines`` (order line drafts: ``amount`` and ``price_id``) for this customer now."""
    seller = await seller_of(org_id)
    if not seller.registrations and not seller.rates:
        return apply([int(line.amount) for line in lines], [NO_TAX] * len(lines))
    customer = await Customer.objects().where(Customer.org == org_id, Customer.id == customer_id).first()
    buyer = buyer_of(customer, seller.home)
    behaviors = await _behaviors(org_id, {line.price_id for line in lines if line.price_id is not None})
    treatments = [
        treatment(behaviors.get(str(line.price_id), TaxBehavior.TAXABLE), seller, buyer) for line in lines
    ]
    return apply(
        [int(line.amount) for line in lines],
        treatments,
        reverse_charge=any(t.name == REVERSE_CHARGE for t in treatments),
        seller_tax_number=seller.tax_number(buyer.country, buyer.region),
    )


def split_refund(amount: int, gross: int, lines: Sequence[TaxLine]) -> list[TaxLine]:
    """A refund of ``amount`` of a document worth ``gross``, spread over its tax lines in proportion to
    each rate's share of the document (rounded half up; when the rates cover the whole document the last
    one takes the remainder, so the shares add up to the refund)."""
    if gross <= 0:
        return []
    covered = sum(line.net + line.tax for line in lines) == gross
    shares: list[TaxLine] = []
    left = amount
    for index, line in enumerate(lines):
        line_gross = line.net + line.tax
        last = covered and index == len(lines) - 1
        share = left if last else round_half_up(Fraction(amount * line_gross, gross))
        left -= share
        tax = round_half_up(Fraction(share * line.tax, line_gross)) if line_gross else 0
        shares.append(TaxLine(name=line.name, rate=line.rate, net=share - tax, tax=tax))
    return shares
