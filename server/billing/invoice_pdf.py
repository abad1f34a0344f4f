"""Invoice, receipt and credit-note PDFs (fpdf2), deterministic: the same order always gives the same bytes.

Nothing varies between renders: the creation date is the order's own moment, there are no random ids, and
the fonts (DejaVu Sans, and Noto Sans JP for Japanese documents and for Japanese names on any other; both
shipped beside this module) are embedded the same way each time. Every document speaks the customer's
language: its labels through the portal's catalogs, money and dates through Babel; an Arabic document is
shaped with HarfBuzz, so its text is joined and runs right to left. The invoice is rendered once, at its
first download, and stored (``orders.invoice_pdf``); a receipt is rendered on demand for a paid order and
also lists refunds.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import io
import json
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from babel.dates import format_date, format_interval
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.errors import FPDFException

from server import i18n
from server.db.tables import CreditNote, Order, OrderLine, Organization, PaymentMethod, Refund
from server.enums import OrderStatus
from server.i18n import gettext as _
from server.money import format_money

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVu"
JAPANESE_FONT = "NotoSansJP"
ADDRESS_ORDER = ("line1", "line2", "postal_code city", "state", "country")


def status_label(status: str) -> str:
    """An order's state as the document's language names it."""
    labels = {
        OrderStatus.PENDING: _("Amount due"),
        OrderStatus.PAID: _("Paid"),
        OrderStatus.PARTIALLY_REFUNDED: _("Partially refunded"),
        OrderStatus.REFUNDED: _("Refunded"),
        OrderStatus.VOID: _("Void"),
    }
    return labels.get(OrderStatus(status), str(status))


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
    language: str = i18n.DEFAULT_LOCALE
    """The negotiated locale the document speaks (the customer's, else the merchant's default)."""

    @property
    def tax_lines(self) -> list[dict[str, Any]]:
        raw = self.order.tax_lines
        value = json.loads(raw or "[]") if isinstance(raw, str) else raw
        return list(value or [])

    def money(self, amount: int) -> str:
        """Compatibility forms folded (NFKC: fullwidth ￥ → ¥) so every symbol exists in the embedded font."""
        return unicodedata.normalize("NFKC", format_money(int(amount), self.order.currency, self.language))

    def date(self, moment: datetime | None) -> str:
        return (
            "" if moment is None else str(format_date(moment.date(), format="medium", locale=self.language))
        )

    def period(self, start: datetime, end: datetime) -> str:
        """A date range as one phrase of the language, so it reads in order right to left too."""
        return str(format_interval(start.date(), end.date(), "yMMMd", locale=self.language))

    @property
    def align(self) -> str:
        """Where a line of text starts: the right edge for a language written right to left."""
        return "R" if i18n.text_direction(self.language) == "rtl" else "L"


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
        self.set_title(title)
        self.set_lang(i18n.html_lang(ctx.language))
        self.set_author(ctx.org.name)
        self.set_creator("selfserve")
        self.set_producer("selfserve")
        self.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.family = FONT
        self.add_font(JAPANESE_FONT, "", str(FONT_DIR / "NotoSansJP-Regular.ttf"))
        self.add_font(JAPANESE_FONT, "B", str(FONT_DIR / "NotoSansJP-Regular.ttf"))
        if ctx.language.split("_")[0] == "ja":
            # Noto Sans JP writes Latin and Japanese alike; its regular face stands in for bold too
            self.family = JAPANESE_FONT
        if ctx.align == "R":
            # Arabic joined and right to left; no fallback fonts: fpdf2 mixes their glyphs up when shaping
            self.set_text_shaping(True)
        else:
            self.set_fallback_fonts([JAPANESE_FONT, FONT])  # a Japanese name on any other invoice prints
        self.set_auto_page_break(auto=True, margin=18)
        self.add_page()

    def text_line(self, text: str, *, size: int = 10, bold: bool = False, align: str = "") -> None:
        self.set_font(self.family, "B" if bold else "", size)
        self.multi_cell(
            0, size * 0.5, text, align=align or self.ctx.align, new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )

    def header_block(self, title: str, facts: list[str]) -> None:
        logo = _logo(self.ctx.logo_url)
        if logo is not None:
            # an image fpdf cannot read is left out: the invoice is still valid without it
            with contextlib.suppress(FPDFException, OSError, ValueError, SyntaxError):
                self.image(io.BytesIO(logo), x=self.l_margin, y=self.t_margin, h=14)
        self.set_y(self.t_margin)
        edge = "L" if self.ctx.align == "R" else "R"
        self.text_line(title, size=18, bold=True, align=edge)
        for fact in facts:
            self.text_line(fact, size=9, align=edge)
        self.ln(6)

    def parties(self) -> None:
        org, billing = self.ctx.org, self.ctx.billing
        number = self.ctx.order.seller_tax_number
        seller = [
            org.name,
            *org.legal_address.splitlines(),
            org.support_email,
            _("Tax number: %(number)s", number=number) if number else "",
        ]
        buyer = [
            billing.get("name", ""),
            billing.get("company", ""),
            *address_lines(billing.get("address") or {}),
            _("Tax ID: %(tax_id)s", tax_id=billing["tax_id"]) if billing.get("tax_id") else "",
            billing.get("email", ""),
        ]
        top = self.get_y()
        half = (self.w - self.l_margin - self.r_margin) / 2
        columns = [(_("From"), seller), (_("Bill to"), buyer)]
        if self.ctx.align == "R":
            columns.reverse()  # right to left: the seller stands on the right
        bottom = top
        for column, (heading, rows) in enumerate(columns):
            self.set_xy(self.l_margin + column * half, top)
            self.set_font(self.family, "B", 9)
            self.cell(half - 4, 5, heading, align=self.ctx.align, new_x=XPos.LEFT, new_y=YPos.NEXT)
            self.set_font(self.family, "", 10)
            for row in rows:
                if str(row).strip():
                    self.multi_cell(
                        half - 4, 5, str(row).strip(), align=self.ctx.align, new_x=XPos.LEFT, new_y=YPos.NEXT
                    )
            bottom = max(bottom, self.get_y())  # the longer column, whichever side it stands
        self.set_xy(self.l_margin, bottom + 8)

    def line_items(self) -> None:
        ctx = self.ctx
        rtl = ctx.align == "R"

        def ordered(cells: list[str]) -> list[str]:
            """Right to left the columns mirror: the description stands at the right edge."""
            return cells[::-1] if rtl else cells

        self.set_font(self.family, "", 9)
        with self.table(
            col_widths=(36, 36, 18, 100) if rtl else (100, 18, 36, 36),
            text_align=("LEFT", "LEFT", "LEFT", "RIGHT") if rtl else ("LEFT", "RIGHT", "RIGHT", "RIGHT"),
            first_row_as_headings=True,
            line_height=5,
        ) as table:
            table.row(ordered([_("Description"), _("Qty"), _("Unit price"), _("Amount")]))
            for line in ctx.lines:
                description = line.description
                if line.period_start and line.period_end:
                    description += "\n" + ctx.period(line.period_start, line.period_end)
                unit = ctx.money(line.unit_amount) if line.unit_amount else ""
                table.row(ordered([description, str(line.quantity), unit, ctx.money(line.amount)]))
        self.ln(4)

    def totals(self, rows: list[tuple[str, str, bool]]) -> None:
        """Label and amount per row; right to left the amounts stand at the left edge, labels beside them."""
        wide = self.w - self.l_margin - self.r_margin - 40
        for label, value, bold in rows:
            self.set_font(self.family, "B" if bold else "", 10)
            if self.ctx.align == "R":
                self.cell(40, 6, value, align="L")
                self.cell(wide, 6, label, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            else:
                self.cell(wide, 6, label, align="R")
                self.cell(40, 6, value, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def notes(self) -> None:
        if self.ctx.order.reverse_charge:
            self.ln(4)
            self.text_line(
                _(
                    "Reverse charge: VAT to be accounted for by the recipient "
                    "(Article 196, Council Directive 2006/112/EC)."
                ),
                size=9,
            )

    def render(self) -> bytes:
        return bytes(self.output())


def _tax_rows(ctx: DocumentContext, tax_lines: list[dict[str, Any]]) -> list[tuple[str, str, bool]]:
    """One row per rate: its name, percentage and the net it applies to, then its tax."""
    return [
        (
            _(
                "%(tax)s %(rate)s on %(net)s",
                tax=_tax_name(str(t["name"])),
                rate=i18n.format_rate(str(t["rate"])),
                net=ctx.money(int(t["net"])),
            ),
            ctx.money(int(t["tax"])),
            False,
        )
        for t in tax_lines
    ]


def _tax_name(name: str) -> str:
    """The engine's own tax names in the document's language; a merchant's rate names (VAT, GST) as set."""
    own = {"Reverse charge": _("Reverse charge"), "Tax exempt": _("Tax exempt")}
    return own.get(name, name)


def _total_rows(ctx: DocumentContext) -> list[tuple[str, str, bool]]:
    order = ctx.order
    tax_lines = list(ctx.tax_lines)
    rows = [(_("Subtotal (net)") if tax_lines else _("Subtotal"), ctx.money(order.subtotal), False)]
    rows += _tax_rows(ctx, tax_lines)
    if order.tax_amount and not tax_lines:
        rows.append((_("Tax"), ctx.money(order.tax_amount), False))
    gross = int(order.subtotal) + int(order.tax_amount)
    if gross < 0:
        rows.append((_("Credited to your wallet"), ctx.money(-gross), False))
    if order.wallet_applied:
        rows.append((_("Wallet credit applied"), ctx.money(-order.wallet_applied), False))
    rows.append((_("Total"), ctx.money(order.total), True))
    return rows


def _spoken(render: Callable[..., bytes]) -> Callable[..., bytes]:
    """Render in the document's language (``ctx.language``), whichever locale the caller speaks."""

    @functools.wraps(render)
    def speaking(ctx: DocumentContext, *args: Any) -> bytes:
        with i18n.use_locale(ctx.language):
            return render(ctx, *args)

    return speaking


@_spoken
def render_invoice(ctx: DocumentContext) -> bytes:
    """The invoice as first rendered: dated the day it was issued (the order's numbering), its status line
    the order's state when it was rendered."""
    order = ctx.order
    issued = order.invoice_issued_at or order.created_at
    facts = [
        _("Invoice number: %(number)s", number=order.invoice_number),
        _("Date of issue: %(date)s", date=ctx.date(issued)),
    ]
    if order.period_start and order.period_end:
        facts.append(_("Period: %(period)s", period=ctx.period(order.period_start, order.period_end)))
    title = _("Invoice")
    doc = _Document(ctx, f"{title} {order.invoice_number}", issued)
    doc.header_block(title, facts)
    doc.parties()
    doc.line_items()
    rows = _total_rows(ctx)
    if order.status == OrderStatus.PENDING:
        rows.append((status_label(order.status), ctx.money(order.total), True))
    elif order.paid_at is not None:
        rows.append((_("Paid on %(date)s", date=ctx.date(order.paid_at)), ctx.money(order.total), False))
    else:
        rows.append((_("Status"), status_label(order.status), False))
    if order.refunded_amount:
        rows.append((_("Refunded"), ctx.money(order.refunded_amount), False))
    doc.totals(rows)
    doc.notes()
    return doc.render()


@_spoken
def render_receipt(ctx: DocumentContext) -> bytes:
    """What was paid, when and how, and every refund since."""
    order = ctx.order
    paid_at = order.paid_at or order.created_at
    facts = [
        _("Receipt for invoice: %(number)s", number=order.invoice_number),
        _("Date paid: %(date)s", date=ctx.date(paid_at)),
    ]
    method = ctx.payment_method
    if method is not None:
        facts.append(_("Payment method: %(card)s", card=f"{method.brand.title()} •••• {method.last4}"))
    if ctx.refunds:
        facts.append(_("Status: %(status)s", status=status_label(order.status)))
    title = _("Receipt")
    doc = _Document(ctx, f"{title} {order.invoice_number}", paid_at)
    doc.header_block(title, facts)
    doc.parties()
    doc.line_items()
    rows = [*_total_rows(ctx), (_("Amount paid"), ctx.money(order.total), True)]
    for refund in ctx.refunds:
        on = ctx.date(refund.created_at)
        label = (
            _("Refunded to your wallet on %(date)s", date=on)
            if refund.destination == "wallet"
            else _("Refunded to your card on %(date)s", date=on)
        )
        rows.append((label, ctx.money(-refund.amount), False))
    if ctx.refunds:
        rows.append((_("Refunded in total"), ctx.money(order.refunded_amount), True))
        kept = order.total + order.wallet_applied - order.refunded_amount
        rows.append((_("Net amount after refunds"), ctx.money(kept), False))
    doc.totals(rows)
    doc.notes()
    return doc.render()


@_spoken
def render_credit_note(ctx: DocumentContext, note: CreditNote) -> bytes:
    """A refund of an invoiced order: its own number and date, the invoice it corrects, and what is given
    back, net and tax per rate as on the invoice."""
    order = ctx.order
    facts = [
        _("Credit note number: %(number)s", number=note.number),
        _("Date of issue: %(date)s", date=ctx.date(note.issued_at)),
        _(
            "For invoice: %(number)s of %(date)s",
            number=order.invoice_number,
            date=ctx.date(order.invoice_issued_at or order.created_at),
        ),
    ]
    title = _("Credit note")
    doc = _Document(ctx, f"{title} {note.number}", note.issued_at)
    doc.header_block(title, facts)
    doc.parties()
    raw = note.tax_lines
    tax_lines = list((json.loads(raw or "[]") if isinstance(raw, str) else raw) or [])
    rows = [(_("Refund (net)") if tax_lines else _("Refund"), ctx.money(-int(note.net)), False)]
    rows += _tax_rows(ctx, [{**t, "net": -int(t["net"]), "tax": -int(t["tax"])} for t in tax_lines])
    rows.append((_("Total credited"), ctx.money(-int(note.total)), True))
    doc.totals(rows)
    doc.notes()
    return doc.render()
