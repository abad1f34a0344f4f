import html
from datetime import UTC, datetime
from types import SimpleNamespace

import jinja2
import pytest

from server.i18n import use_locale
from server.mail.render import EMAIL_TEMPLATES, MailBranding, mail_branding, render_email
from server.schemas.portal_settings import Branding
from server.usage.schemas import MeterUsageOut, SpendCapOut, UsageThresholdOut

URL = "https://billing.example.com/portal/acme/login?token=abc.DEF_123&next=%2Forders"
CONTEXTS = {
    "magic_link": {"url": URL},
    "email_change": {"url": URL, "new_email": "new@example.com"},
    "seat_invitation": {"url": URL, "product_name": "Team plan"},
    "console_link": {"url": URL},
    "usage_alert": {"url": URL, "hit": None},  # filled in below
    "data_export_ready": {"url": URL, "expires_at": datetime(2027, 3, 8, tzinfo=UTC)},
    "usage_cap": {"url": URL, "cap": None, "product": "API plan"},
    "payment_confirmation": {"url": URL, "order": SimpleNamespace(total=2500, currency="EUR")},
}
METER = MeterUsageOut(
    subscription_id="s",
    meter_id="m",
    name="API calls",
    event_name="api.call",
    unit_name="calls",
    currency="EUR",
    period_start=datetime(2027, 3, 1, tzinfo=UTC),
    period_end=datetime(2027, 4, 1, tzinfo=UTC),
    usage=12500,
    included=10000,
    limit=20000,
    percent_of_included=125,
    percent_of_limit=63,
    level="over",
    overage_units=2500,
    overage_amount=2500,
    projection=31000,
    projected_overage_units=21000,
    projected_overage_amount=21000,
)


def threshold(kind, value, currency=None):
    return UsageThresholdOut(
        id="h",
        alert_id="a",
        customer_id="c",
        subscription_id="s",
        meter_id="m",
        kind=kind,
        threshold=value,
        currency=currency,
        period_start=METER.period_start,
        reached_at=datetime(2027, 3, 20, tzinfo=UTC),
        usage=METER,
    )


CONTEXTS["usage_alert"]["hit"] = threshold("included_percent", 100)
CAP = SpendCapOut(
    id="cap",
    subscription_id="s",
    customer_id="c",
    amount=5000,
    currency="EUR",
    set_by="customer",
    updated_at=datetime(2027, 3, 2, tzinfo=UTC),
    period_start=METER.period_start,
    period_end=METER.period_end,
    overage_amount=5200,
    billed_overage_amount=5000,
    capped=True,
    reached_at=datetime(2027, 3, 20, tzinfo=UTC),
)
CONTEXTS["usage_cap"]["cap"] = CAP
BRAND = MailBranding(org_name="Acme", primary_color="#112233")


def test_every_template_has_a_context_here():
    assert set(CONTEXTS) == set(EMAIL_TEMPLATES)


@pytest.mark.parametrize("template", EMAIL_TEMPLATES)
def test_both_bodies_carry_the_link_intact(template):
    rendered = render_email(template, CONTEXTS[template], BRAND)
    assert URL in rendered.text
    assert f'href="{html.escape(URL)}"' in rendered.html
    assert "<" not in rendered.text
    assert "Acme" in rendered.text
    assert "Acme" in rendered.html
    assert "background:#112233" in rendered.html


def test_the_data_export_email_says_until_when_in_the_customers_language():
    context = CONTEXTS["data_export_ready"]
    assert "until Mar 8, 2027" in render_email("data_export_ready", context, BRAND).text
    with use_locale("de"):
        assert "bis zum 08.03.2027" in render_email("data_export_ready", context, BRAND).text


def test_wording_names_the_validity_of_each_link():
    assert "15 minutes" in render_email("magic_link", CONTEXTS["magic_link"], BRAND).text
    seat = render_email("seat_invitation", CONTEXTS["seat_invitation"], BRAND).text
    assert "1 day" in seat
    assert "Team plan" in seat
    assert "new@example.com" in render_email("email_change", CONTEXTS["email_change"], BRAND).text


def test_html_escapes_what_the_text_body_keeps_verbatim():
    brand = MailBranding(org_name="Bits & <Bobs>", primary_color="#112233", intro="Hi <b>you</b>")
    rendered = render_email("email_change", {"url": URL, "new_email": "<script>@x.com"}, brand)
    assert "Bits &amp; &lt;Bobs&gt;" in rendered.html
    assert "Hi &lt;b&gt;you&lt;/b&gt;" in rendered.html
    assert "<script>" not in rendered.html
    assert "Bits & <Bobs>" in rendered.text
    assert "Hi <b>you</b>" in rendered.text
    assert "<script>@x.com" in rendered.text


def test_intro_appears_only_when_set():
    without = render_email("magic_link", CONTEXTS["magic_link"], BRAND)
    brand = MailBranding(org_name="Acme", primary_color="#112233", intro="Hej!")
    with_intro = render_email("magic_link", CONTEXTS["magic_link"], brand)
    assert "Hej!" in with_intro.text
    assert "Hej!" in with_intro.html
    assert "Hej!" not in without.text


def test_logo_is_shown_instead_of_the_name_heading():
    brand = MailBranding(org_name="Acme", primary_color="#112233", logo_url="https://cdn.example.com/l.png")
    rendered = render_email("magic_link", CONTEXTS["magic_link"], brand)
    assert '<img src="https://cdn.example.com/l.png" alt="Acme"' in rendered.html


def test_missing_context_raises_instead_of_sending_a_blank_link():
    with pytest.raises(jinja2.UndefinedError):
        render_email("seat_invitation", {"url": URL}, BRAND)


def test_unknown_template_is_refused():
    with pytest.raises(ValueError, match="unknown email template"):
        render_email("../base", {"url": URL}, BRAND)


def test_branding_keeps_only_safe_colour_and_logo():
    unsafe = mail_branding("Acme", Branding(primary_color="red;background:url(x)", logo_url="javascript:x"))
    assert unsafe.primary_color == Branding().primary_color
    assert unsafe.logo_url is None
    safe = mail_branding("Acme", Branding(primary_color="#ABC", logo_url="https://x.example/l.png"), "  hi ")
    assert (safe.primary_color, safe.logo_url, safe.intro) == ("#ABC", "https://x.example/l.png", "hi")


@pytest.mark.parametrize(
    ("hit", "locale", "says"),
    [
        (
            threshold("included_percent", 100),
            "en",
            "Your usage has reached 100% of the 10,000 calls included this period: 12,500 so far.",
        ),
        (
            threshold("limit_percent", 60),
            "de",
            "Ihre Nutzung hat 60 % Ihres Limits von 20.000 calls in diesem Zeitraum erreicht: bisher 12.500.",
        ),
        (
            threshold("projected_overage", 20000, "EUR"),
            "de",
            "in diesem Zeitraum 210,00\xa0€, mehr als die von Ihnen festgelegten 200,00\xa0€.",
        ),
    ],
)
def test_a_usage_alert_says_what_was_reached_in_the_customers_language(hit, locale, says):
    with use_locale(locale):
        rendered = render_email("usage_alert", {"url": URL, "hit": hit}, BRAND)
    assert says in rendered.text
    assert html.escape(says, quote=False) in rendered.html
    projected = (
        "Projected by Apr 1, 2027: 31,000 calls." if locale == "en" else "bis 01.04.2027: 31.000 calls."
    )
    assert projected in rendered.text
    assert f'<html lang="{locale}" dir="ltr">' in rendered.html


@pytest.mark.parametrize(
    ("locale", "says"),
    [
        ("en", "has reached your spend cap of €50.00 for the period ending Apr 1, 2027."),
        ("de", "hat Ihre Ausgabengrenze von 50,00\xa0€ für den Zeitraum bis 01.04.2027 erreicht."),
    ],
)
def test_a_spend_cap_email_names_the_cap_and_the_period_in_the_customers_language(locale, says):
    with use_locale(locale):
        rendered = render_email("usage_cap", CONTEXTS["usage_cap"], BRAND)
    assert says in rendered.text
    assert html.escape(says, quote=False) in rendered.html


@pytest.mark.parametrize(
    ("locale", "says"),
    [
        ("en", "Your bank asks you to confirm the payment of €25.00 before it can go through."),
        ("de", "Ihre Bank bittet Sie, die Zahlung über 25,00\xa0€ zu bestätigen"),
    ],
)
def test_the_payment_confirmation_email_names_the_amount_in_the_customers_language(locale, says):
    with use_locale(locale):
        rendered = render_email("payment_confirmation", CONTEXTS["payment_confirmation"], BRAND)
    assert says in rendered.text
    assert URL in rendered.text
