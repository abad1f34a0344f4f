"""Emails about a customer's account speak the customer's stored locale (else the merchant's default):
subject and both bodies, right to left in Arabic."""

import uuid

import pytest

from server.auth.magic_links import request_email_change, request_login_link
from server.customers.schemas import CustomerCreate
from server.customers.service import create_customer
from server.db.tables import EmailMessage, Organization
from server.mail.queue import read_content

SIGN_IN = {
    "en": ("Your sign-in link for Acme", "Use the link below to sign in to your account."),
    "de": ("Ihr Anmeldelink für Acme", "Melden Sie sich über den Link unten bei Ihrem Konto an."),
    "fr": ("Votre lien de connexion pour Acme", "Utilisez le lien ci-dessous pour vous connecter"),
    "es": ("Tu enlace de acceso a Acme", "Usa el enlace de abajo para acceder a tu cuenta."),
    "pt-BR": ("Seu link de acesso para Acme", "Use o link abaixo para entrar na sua conta."),
    "ja": ("Acme のログインリンク", "下のリンクからアカウントにログインしてください。"),
    "ar": ("رابط تسجيل الدخول إلى Acme", "استخدم الرابط أدناه لتسجيل الدخول إلى حسابك."),
}


async def _acme(org):
    row = await Organization.objects().where(Organization.id == org.org.id).first()
    row.name = "Acme"
    return row


async def _last_mail(org, keyring, to):
    message = (
        await EmailMessage.objects()
        .where(EmailMessage.org == org.org.id, EmailMessage.to_address == to)
        .order_by(EmailMessage.created_at, ascending=False)
        .first()
    )
    return message.subject, read_content(keyring, message.body_encrypted)


@pytest.mark.parametrize("locale", list(SIGN_IN))
async def test_the_sign_in_email_speaks_the_customers_locale(org, keyring, locale):
    email = f"c-{uuid.uuid4().hex[:8]}@example.com"
    await create_customer(org.org.id, CustomerCreate(email=email, name="C", locale=locale))
    await request_login_link(await _acme(org), email, keyring=keyring, public_url="https://b.example")
    subject, content = await _last_mail(org, keyring, email)
    expected_subject, expected_sentence = SIGN_IN[locale]
    assert subject == expected_subject
    assert expected_sentence in content.text
    assert expected_sentence in content.html
    direction = "rtl" if locale == "ar" else "ltr"
    assert f'<html lang="{locale}" dir="{direction}">' in content.html


async def test_the_email_change_confirmation_speaks_the_customers_locale(org, keyring):
    customer = await create_customer(
        org.org.id, CustomerCreate(email=f"c-{uuid.uuid4().hex[:8]}@example.com", name="C", locale="es")
    )
    new = f"n-{uuid.uuid4().hex[:8]}@example.com"
    await request_email_change(
        await _acme(org), customer, new, keyring=keyring, public_url="https://b.example"
    )
    subject, content = await _last_mail(org, keyring, new)
    assert subject == "Confirma tu nueva dirección de correo para Acme"
    assert f"Pediste usar {new} en tu cuenta de " in content.text
