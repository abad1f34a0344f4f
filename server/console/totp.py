"""The console's optional second factor: a TOTP code from an authenticator app (RFC 6238, pyotp), asked after
the emailed link by a staff member who turned it on. The secret is sealed by the keyring at rest.

Between the link and the code the browser holds a ticket (signed, 5 minutes, used once) naming the link it
came from; codes are limited like link requests (6/min, 12/h per staff member, then 15 minutes blocked).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import msgspec
import pyotp
import segno
from itsdangerous import BadData, URLSafeSerializer

from server import clock
from server.db.tables import StaffMember
from server.errors import Invalid
from server.security.keyring import Keyring

TICKET_TTL = timedelta(minutes=5)
SIGN_IN_SALT = "selfserve.console-totp-sign-in"
SETUP_SALT = "selfserve.console-totp-setup"
DRIFT_STEPS = 1
"""A code of the 30-second step before or after is accepted too (clocks of phones drift)."""


class Ticket(msgspec.Struct, frozen=True):
    """A redeemed link waiting for its code."""

    org: str
    member: str
    link: str
    exp: int

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.exp, UTC)


def new_secret() -> str:
    return pyotp.random_base32()


def setup_uri(secret: str, email: str, org_name: str) -> str:
    """The ``otpauth://`` URI an authenticator app adds (from its QR code or typed in)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=f"{org_name} console")


def qr_code(uri: str) -> str:
    """The URI as a QR code, an SVG ``data:`` URI (an image, so the page's CSP accepts it)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


def code_matches(secret: str, code: str) -> bool:
    digits = "".join(code.split())
    return digits.isdigit() and pyotp.TOTP(secret).verify(
        digits, for_time=clock.now(), valid_window=DRIFT_STEPS
    )


def _serializer(keyring: Keyring, salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(list(keyring.secret_keys), salt=salt)


def issue_ticket(keyring: Keyring, org_id: UUID, member_id: UUID, link_id: UUID) -> str:
    exp = int((clock.now() + TICKET_TTL).timestamp())
    ticket = Ticket(org=str(org_id), member=str(member_id), link=str(link_id), exp=exp)
    return str(_serializer(keyring, SIGN_IN_SALT).dumps(msgspec.to_builtins(ticket)))


def read_ticket(keyring: Keyring, value: str) -> Ticket | None:
    """The ticket ``value`` carries, or None when it is forged, malformed or expired."""
    try:
        ticket = msgspec.convert(_serializer(keyring, SIGN_IN_SALT).loads(value), Ticket)
    except (BadData, msgspec.ValidationError):
        return None
    return ticket if ticket.expires_at > clock.now() else None


def sign_setup(keyring: Keyring, member_id: UUID, secret: str) -> str:
    """The secret being set up, signed for the member, so the confirming form cannot swap it."""
    return str(_serializer(keyring, SETUP_SALT).dumps([str(member_id), secret]))


def read_setup(keyring: Keyring, member_id: UUID, value: str) -> str:
    try:
        member, secret = _serializer(keyring, SETUP_SALT).loads(value)
    except (BadData, ValueError) as exc:
        raise Invalid("this setup form is not valid any more; start again") from exc
    if member != str(member_id):
        raise Invalid("this setup form is not valid any more; start again")
    return str(secret)


async def turn_on(keyring: Keyring, member_id: UUID, secret: str, code: str) -> None:
    """Ask for the code from now on, once the app shows a code that matches ``secret``."""
    if not code_matches(secret, code):
        raise Invalid("that code does not match; check the app's clock and type the newest code")
    await StaffMember.update({StaffMember.totp_secret_encrypted: keyring.box.encrypt(secret)}).where(
        StaffMember.id == member_id
    )


async def turn_off(keyring: Keyring, member: StaffMember, code: str) -> None:
    if member.totp_secret_encrypted is None:
        return
    if not code_matches(keyring.box.decrypt(member.totp_secret_encrypted), code):
        raise Invalid("that code does not match; type the newest code from your app")
    await StaffMember.update({StaffMember.totp_secret_encrypted: None}).where(StaffMember.id == member.id)
