"""Invoice and receipt PDFs (fpdf2), deterministic: the same order always gives the same bytes.

Nothing varies between renders: the creation date is the order's own moment, there are no random ids, and
the font (DejaVu Sans, shipped beside this module so any script prints) is embedded the same way each time.
The invoice is rendered once, at its first download, and stored (``orders.invoice_pdf``); a receipt is
rendered on demand for a paid order and also lists refunds.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import json
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from babel.dates import format_date
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.errors import FPDFException

from server.billing.money import format_money
from server.db.enums import OrderStatus
from server.db.tables import CreditNote, Order, OrderLine, Organization, PaymentMethod, Refund
from server.services.tax import REVERSE_CHARGE_NOTE

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVu"
DASH = " \N{EN DASH} "
ADDRESS_ORDER = ("line1", "line2", "postal_code city", "state", "country")
STATUS_LABELS = {
    OrderStatus.PENDING: "Amount due",
    OrderStatus.PAID: "Paid",
    OrderStatus.PARTIALLY_REFUNDED: "Partially refunded",
    OrderStatus.REFUNDED: "Refunded",
    OrderStatus.VOID: "Void",
}


@dataclass(frozen=True)
class DocumentContext:
    """Everything a document shows; ``billing`` is the customer's frozen snapshot (see orders._snapshot)."""

    org: Organization
    logo_url: str | None
    order: Order
    lines: list[OrderLine]
    refunds: list[Refund]
    billing: dict[str, Any]
    payment_method: PaymentMethod | None

    @property
    def tax_lines(self) -> list[dict[str, Any]]:
        raw = self.order.tax_lines
        value = json.loads(raw or "[]") if isinstance(raw, str) else raw
        return list(value or [])

    @property
    def locale(self) -> str:
        return str(self.billing.get("locale") or "en")

    def money(self, amount: int) -> str:
        """Compatibility forms folded (NFKC: fullwidth ￥ → ¥) so every symbol exists in the embedded font."""
        return unicodedata.normalize("NFKC", format_money(int(amount), self.order.currency, self.locale))

    def date(self, moment: datetime | None) -> str:
        if moment is None:
            return ""
        try:
            return str(format_date(moment.date(), format="medium", locale=self.locale.replace("-", "_")))
        except ValueError:
            return str(format_date(moment.date(), format="medium", locale="en"))


def address_lines(address: dict[str, Any]) -> list[str]:
    """A postal address as printed lines, in a fixed order; unknown keys are ignored."""
    lines = []
    for spec in ADDRESS_ORDER:
        line = " ".join(str(address.get(key) or "").strip() for key in spec.split())
        if line.strip():
            lines.append(line.strip())
    return lines


def _logo(url: str | None) -> bytes | None:
    """An inline ``data:image/…;base64,`` logo; remote logos are skipped so rendering never goes online."""
    if not url or not url.startswith("data:image/") or ";base64," not in url:
        return None
    try:
        return base64.b64decode(url.split(";base64,", 1)[1], validate=True)
    except (binascii.Error, ValueError):
        return None


class _Document(FPDF):
    def __init__(self, ctx: DocumentContext, title: str, moment: datetime) -> None:
        super().__init__(format="A4")
        self.ctx = ctx
        self.set_creation_date(moment)
        self.set_title(f"{title} {ctx.order.invoice_number}")
        self.set_author(ctx.org.name)
        self.set_creator("selfserve")
        self.set_producer("selfserve")
        self.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.set_auto_page_break(auto=True, margin=18)
        self.add_page()

    def text_line(self, text: str, *, size: int = 10, bold: bool = False, align: str = "L") -> None:
        self.set_font(FONT, "B" if bold else "", size)
        self.multi_cell(0, size * 0.5, text, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def header_block(self, title: str, facts: list[tuple[str, str]]) -> None:
        logo = _logo(self.ctx.logo_url)
        if logo is not None:
            # an image fpdf cannot read is left out: the invoice is still valid without it
            with contextlib.suppress(FPDFException, OSError, ValueError, SyntaxError):
                self.image(io.BytesIO(logo), x=self.l_margin, y=self.t_margin, h=14)
        self.set_y(self.t_margin)
        self.text_line(title, size=18, bold=True, align="R")
        for label, value in facts:
            self.text_line(f"{label}: {value}", size=9, align="R")
        self.ln(6)

    def parties(self) -> None:
        org, billing = self.ctx.org, self.ctx.billing
        number = self.ctx.order.seller_tax_number
        seller = [
            org.name,
            *org.legal_address.splitlines(),
            org.support_email,
            f"Tax number: {number}" if number else "",
        ]
        buyer = [
            billing.get("name", ""),
            billing.get("company", ""),
            *address_lines(billing.get("address") or {}),
            f"Tax ID: {billing['tax_id']}" if billing.get("tax_id") else "",
            billing.get("email", ""),
        ]
        top = self.get_y()
        half = (self.w - self.l_margin - self.r_margin) / 2
        for column, (heading, rows) in enumerate((("From", seller), ("Bill to", buyer))):
            self.set_xy(self.l_margin + column * half, top)
            self.set_font(FONT, "B", 9)
            self.cell(half, 5, heading, new_x=XPos.LEFT, new_y=YPos.NEXT)
            self.set_font(FONT, "", 10)
            for row in rows:
                if str(row).strip():
                    self.multi_cell(half - 4, 5, str(row).strip(), new_x=XPos.LEFT, new_y=YPos.NEXT)
        self.set_xy(self.l_margin, max(self.get_y(), top) + 8)

    def line_items(self) -> None:
        ctx = self.ctx
        self.set_font(FONT, "", 9)
        with self.table(
            col_widths=(100, 18, 36, 36),
            text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
            first_row_as_headings=True,
            line_height=5,
        ) as table:
            table.row(["Description", "Qty", "Unit price", "Amount"])
            for line in ctx.lines:
                description = line.description
                if line.period_start and line.period_end:
                    description += f"\n{ctx.date(line.period_start)}{DASH}{ctx.date(line.period_end)}"
                unit = ctx.money(line.unit_amount) if line.unit_amount else ""
                table.row([description, str(line.quantity), unit, ctx.money(line.amount)])
        self.ln(4)

    def totals(self, rows: list[tuple[str, str, bool]]) -> None:
        for label, value, bold in rows:
            self.set_font(FONT, "B" if bold else "", 10)
            self.cell(self.w - self.l_margin - self.r_margin - 40, 6, label, align="R")
            self.cell(40, 6, value, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def notes(self) -> None:
        if self.ctx.order.reverse_charge:
            self.ln(4)
            self.text_line(REVERSE_CHARGE_NOTE, size=9)

    def render(self) -> bytes:
        return bytes(self.output())


def _rate_label(name: str, rate: str) -> str:
    return f"{name} {rate} %"


def _tax_rows(ctx: DocumentContext, tax_lines: list[dict[str, Any]]) -> list[tuple[str, str, bool]]:
    """One row per rate: its name, percentage and the net it applies to, then its tax."""
    return [
        (
            f"{_rate_label(t['name'], t['rate'])} on {ctx.money(int(t['net']))}",
            ctx.money(int(t["tax"])),
            False,
        )
        for t in tax_lines
    ]


def _total_rows(ctx: DocumentContext) -> list[tuple[str, str, bool]]:
    order = ctx.order
    tax_lines = list(ctx.tax_lines)
    rows = [("Subtotal (net)" if tax_lines else "Subtotal", ctx.money(order.subtotal), False)]
    rows += _tax_rows(ctx, tax_lines)
    if order.tax_amount and not tax_lines:
        rows.append(("Tax", ctx.money(order.tax_amount), False))
    gross = int(order.subtotal) + int(order.tax_amount)
    if gross < 0:
        rows.append(("Credited to your wallet", ctx.money(-gross), False))
    if order.wallet_applied:
        rows.append(("Wallet credit applied", ctx.money(-order.wallet_applied), False))
    rows.append(("Total", ctx.money(order.total), True))
    return rows


def render_invoice(ctx: DocumentContext) -> bytes:
    """The invoice as first rendered: dated the day it was issued (the order's numbering), its status line
    the order's state when it was rendered."""
    order = ctx.order
    issued = order.invoice_issued_at or order.created_at
    facts = [("Invoice number", str(order.invoice_number)), ("Date of issue", ctx.date(issued))]
    if order.period_start and order.period_end:
        facts.append(("Period", f"{ctx.date(order.period_start)}{DASH}{ctx.date(order.period_end)}"))
    doc = _Document(ctx, "Invoice", issued)
    doc.header_block("Invoice", facts)
    doc.parties()
    doc.line_items()
    rows = _total_rows(ctx)
    status = STATUS_LABELS.get(OrderStatus(order.status), str(order.status))
    if order.status == OrderStatus.PENDING:
        rows.append((status, ctx.money(order.total), True))
    elif order.paid_at is not None:
        rows.append((f"{status} on {ctx.date(order.paid_at)}", ctx.money(order.total), False))
    else:
        rows.append(("Status", status, False))
    if order.refunded_amount:
        rows.append(("Refunded", ctx.money(order.refunded_amount), False))
    doc.totals(rows)
    doc.notes()
    return doc.render()


def render_receipt(ctx: DocumentContext) -> bytes:
    """What was paid, when and how, and every refund since."""
    order = ctx.order
    paid_at = order.paid_at or order.created_at
    facts = [("Receipt for invoice", str(order.invoice_number)), ("Date paid", ctx.date(paid_at))]
    method = ctx.payment_method
    if method is not None:
        facts.append(("Payment method", f"{method.brand.title()} •••• {method.last4}"))
    if ctx.refunds:
        facts.append(("Status", STATUS_LABELS.get(OrderStatus(order.status), str(order.status))))
    doc = _Document(ctx, "Receipt", paid_at)
    doc.header_block("Receipt", facts)
    doc.parties()
    doc.line_items()
    rows = [*_total_rows(ctx), ("Amount paid", ctx.money(order.total), True)]
    for refund in ctx.refunds:
        where = "to your wallet" if refund.destination == "wallet" else "to your card"
        rows.append((f"Refunded {where} on {ctx.date(refund.created_at)}", ctx.money(-refund.amount), False))
    if ctx.refunds:
        rows.append(("Refunded in total", ctx.money(order.refunded_amount), True))
        kept = order.total + order.wallet_applied - order.refunded_amount
        rows.append(("Net amount after refunds", ctx.money(kept), False))
    doc.totals(rows)
    doc.notes()
    return doc.render()


def render_credit_note(ctx: DocumentContext, note: CreditNote) -> bytes:
    """A refund of an invoiced order: its own number and date, the invoice it corrects, and what is given
    back, net and tax per rate as on the invoice."""
    order = ctx.order
    facts = [
        ("Credit note number", note.number),
        ("Date of issue", ctx.date(note.issued_at)),
        ("For invoice", f"{order.invoice_number} of {ctx.date(order.invoice_issued_at or order.created_at)}"),
    ]
    doc = _Document(ctx, "Credit note", note.issued_at)
    doc.set_title(f"Credit note {note.number}")
    doc.header_block("Credit note", facts)
    doc.parties()
    raw = note.tax_lines
    tax_lines = list((json.loads(raw or "[]") if isinstance(raw, str) else raw) or [])
    rows = [("Refund (net)" if tax_lines else "Refund", ctx.money(-int(note.net)), False)]
    rows += _tax_rows(ctx, [{**t, "net": -int(t["net"]), "tax": -int(t["tax"])} for t in tax_lines])
    rows.append(("Total credited", ctx.money(-int(note.total)), True))
    doc.totals(rows)
    doc.notes()
    return doc.render()
