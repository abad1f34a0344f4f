"""The retention offers form of the console's portal page: per cancellation reason none, a pause, a cheaper
plan or a coupon, with the merchant's message, and how often a customer may be offered anything.

The form becomes a ``RetentionSettingsIn`` and goes through ``retention.put_settings``, exactly as
``PUT /v1/retention-settings`` does (``server.console.portal``); a refused form is shown again as typed."""

from __future__ import annotations

from typing import Any

from litestar.datastructures import FormMultiDict

from server.console.pages import api_input
from server.enums import CancellationReason
from server.retention.schemas import OFFER_KINDS, RetentionSettingsIn, RetentionSettingsOut

TERMS = {"pause": "pause_periods", "plan": "price_id", "coupon": "coupon_id"}
"""The one field each kind of offer takes besides its message."""


def retention_fields(settings: RetentionSettingsOut) -> dict[str, Any]:
    """The settings as the form's fields hold them: the window, and per reason the offer's kind ("" for
    none), its terms and its message."""
    offers = settings.offers.by_reason()
    fields: dict[str, Any] = {"window_months": str(settings.window_months)}
    for reason in CancellationReason:
        offer = offers.get(reason)
        fields[reason] = {
            "kind": offer.kind if offer else "",
            "message": offer.message if offer else "",
            **{
                term: "" if offer is None or getattr(offer, term) is None else str(getattr(offer, term))
                for term in TERMS.values()
            },
        }
    return fields


def submitted_retention(form: FormMultiDict) -> dict[str, Any]:
    typed = {key: str(form.get(key, "")).strip() for key in form}
    fields: dict[str, Any] = {"window_months": typed.get("window_months", "")}
    for reason in CancellationReason:
        kind = typed.get(f"{reason}.kind", "")
        fields[reason] = {
            "kind": kind if kind in OFFER_KINDS else "",
            "message": typed.get(f"{reason}.message", ""),
            **{term: typed.get(f"{reason}.{term}", "") for term in TERMS.values()},
        }
    return fields


def retention_input(fields: dict[str, Any]) -> RetentionSettingsIn:
    """The submitted form as the API's PUT body: a reason without a kind has no offer; an offer carries only
    its own kind's terms (the others' fields are kept in the form, not sent)."""
    offers = {}
    for reason in CancellationReason:
        offer = fields[reason]
        if offer["kind"]:
            term = TERMS[offer["kind"]]
            offers[reason.value] = {"kind": offer["kind"], "message": offer["message"]}
            value = offer[term]
            offers[reason.value][term] = int(value) if value.isdigit() else value or None
    window = fields["window_months"]
    body = {"offers": offers, "window_months": int(window) if window.isdigit() else window}
    converted: RetentionSettingsIn = api_input(body, RetentionSettingsIn)
    return converted
