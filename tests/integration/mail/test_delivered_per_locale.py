"""What arrives at a real SMTP server (aiosmtpd) speaks the customer's language, in each of the seven
locales: the sign-in link and a usage alert, subject, text body and HTML body, the HTML declaring its
language and direction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage as MimeMessage

import pytest

from server.auth.magic_links import request_login_link
from server.clock import FrozenClock, use_clock
from server.db.tables import Customer, Organization
from server.metering.service import UsageEventIn
from server.usage import usage_alerts, usage_ingestion
from server.usage.usage_alerts import Notifier
from tests.integration.mail.support import drain
from tests.integration.usage.support import metered_customer

START = datetime(2027, 3, 1, tzinfo=UTC)
TODAY = START + timedelta(days=10, hours=6)

SIGN_IN = {  # subject, a sentence of the body
    "en": ("Your sign-in link for Acme", "Use the link below to sign in to your account."),
    "de": ("Ihr Anmeldelink für Acme", "Melden Sie sich über den Link unten bei Ihrem Konto an."),
    "fr": ("Votre lien de connexion pour Acme", "Utilisez le lien ci-dessous pour vous connecter"),
    "es": ("Tu enlace de acceso a Acme", "Usa el enlace de abajo para acceder a tu cuenta."),
    "pt-BR": ("Seu link de acesso para Acme", "Use o link abaixo para entrar na sua conta."),
    "ja": ("Acme のログインリンク", "下のリンクからアカウントにログインしてください。"),
    "ar": ("رابط تسجيل الدخول إلى Acme", "استخدم الرابط أدناه لتسجيل الدخول إلى حسابك."),
}
USAGE_ALERT = {  # subject (the meter's name is the merchant's), the link's words
    "en": ("Usage alert: Api.Call", "See your usage"),
    "de": ("Nutzungswarnung: Api.Call", "Nutzung ansehen"),
    "fr": ("Alerte d\u2019utilisation : Api.Call", "Voir votre utilisation"),
    "es": ("Alerta de uso: Api.Call", "Ver tu uso"),
    "pt-BR": ("Alerta de uso: Api.Call", "Ver seu uso"),
    "ja": ("利用量アラート\uff1aApi.Call", "利用量を見る"),
    "ar": ("تنبيه الاستخدام: Api.Call", "عرض استخدامك"),
}


def _parts(message: MimeMessage) -> tuple[str, str, str]:
    return (
        str(message["Subject"]),
        message.get_body(("plain",)).get_content(),  # type: ignore[union-attr]
        message.get_body(("html",)).get_content(),  # type: ignore[union-attr]
    )


@pytest.mark.parametrize("locale", list(SIGN_IN))
async def test_sign_in_and_usage_alert_emails_arrive_in_the_customers_language(
    org, keyring, inbox, smtp_context, locale
):
    org_id = org.org.id
    await Organization.update({Organization.name: "Acme"}).where(Organization.id == org_id)
    acme = await Organization.objects().where(Organization.id == org_id).first()
    metered = await metered_customer(org_id, START, included=1000)
    address = metered.customer.email
    await Customer.update({Customer.locale: locale}).where(Customer.id == metered.customer.id)
    await usage_alerts.create_alert(
        org_id, customer_id=metered.customer.id, kind="included_percent", threshold=50
    )
    notifier = Notifier(keyring=keyring, public_url="https://billing.example.com")

    with use_clock(FrozenClock(TODAY)):
        await request_login_link(acme, address, keyring=keyring, public_url="https://billing.example.com")
        event = UsageEventIn(name="api.call", customer_id=metered.customer.id, value=600, occurred_at=TODAY)
        await usage_ingestion.ingest(notifier, org_id, [event])
        await drain(smtp_context)

    received = {str(m["Subject"]): m for m in inbox.received_by(address)}
    direction = "rtl" if locale == "ar" else "ltr"
    for subject, words in (SIGN_IN[locale], USAGE_ALERT[locale]):
        assert subject in received, (subject, list(received))
        _, text, html = _parts(received[subject])
        assert words in text
        assert words in html
        assert f'<html lang="{locale}" dir="{direction}">' in html
    assert len(received) == 2
