"""The merchant's staff: who may sign in to the console and with which role.

Roles are ranked: a viewer reads everything the console shows, support also acts for customers (portal links,
a read-only look at their portal), an admin also changes the portal settings and the developer settings (API
keys, webhooks), and an owner also manages the team. ``may`` is the one place that rule lives.
"""

from __future__ import annotations

from uuid import UUID

from server import clock
from server.activity import record_merchant_activity
from server.auth.magic_links import normalize_email
from server.db.engine import write_transaction
from server.db.tables import Organization, StaffMember
from server.enums import StaffRole
from server.errors import Conflict, Invalid, NotFound

RANK = {StaffRole.VIEWER: 0, StaffRole.SUPPORT: 1, StaffRole.ADMIN: 2, StaffRole.OWNER: 3}
MAX_NAME = 200


def may(role: StaffRole | str, needed: StaffRole) -> bool:
    """Whether ``role`` covers what ``needed`` is required for."""
    return RANK[StaffRole(role)] >= RANK[needed]


def parse_role(value: str) -> StaffRole:
    try:
        return StaffRole(value.strip().lower())
    except ValueError as exc:
        raise Invalid(f"role must be one of {', '.join(r.value for r in StaffRole)}, not {value!r}") from exc


async def add_staff(org_id: UUID, email: str, role: StaffRole | str, *, name: str = "") -> StaffMember:
    """A new member of the merchant's team (409 when the email is on it already)."""
    address = normalize_email(email)
    role = parse_role(str(role))
    name = name.strip()
    if len(name) > MAX_NAME or any(ord(c) < 32 for c in name):
        raise Invalid(f"name must be one line of at most {MAX_NAME} characters")
    async with write_transaction():
        if await StaffMember.exists().where(
            StaffMember.org == org_id, StaffMember.email == address, StaffMember.removed_at.is_null()
        ):
            raise Conflict(f"{address} is on the team already")
        member = StaffMember(org=org_id, email=address, name=name, role=role, created_at=clock.now())
        await member.save()
        await record_merchant_activity(org_id, "staff.added", id=str(member.id), role=str(role))
    return member


async def list_staff(org_id: UUID) -> list[StaffMember]:
    """The team, owners first, then by email."""
    members = await StaffMember.objects().where(StaffMember.org == org_id, StaffMember.removed_at.is_null())
    return sorted(members, key=lambda m: (-RANK[StaffRole(m.role)], m.email))


async def get_staff(org_id: UUID, staff_id: UUID) -> StaffMember:
    member = (
        await StaffMember.objects()
        .where(StaffMember.org == org_id, StaffMember.id == staff_id, StaffMember.removed_at.is_null())
        .first()
    )
    if member is None:
        raise NotFound("no such staff member")
    return member


async def memberships(email: str) -> list[tuple[StaffMember, Organization]]:
    """Every team ``email`` (normalized) is on, with its merchant."""
    members = await StaffMember.objects().where(StaffMember.email == email, StaffMember.removed_at.is_null())
    if not members:
        return []
    orgs = {
        str(o.id): o
        for o in await Organization.objects().where(Organization.id.is_in([m.org for m in members]))
    }
    return [(m, orgs[str(m.org)]) for m in members if str(m.org) in orgs]


async def active_member(org_id: UUID, email: str) -> StaffMember | None:
    return (
        await StaffMember.objects()
        .where(StaffMember.org == org_id, StaffMember.email == email, StaffMember.removed_at.is_null())
        .first()
    )


async def remove_staff(org_id: UUID, staff_id: UUID, *, by: UUID) -> StaffMember:
    """Take someone off the team: their sessions stop working at once. Nobody removes themselves, so the
    team always keeps an owner."""
    if staff_id == by:
        raise Conflict("you cannot remove yourself; ask another owner")
    async with write_transaction():
        member = await get_staff(org_id, staff_id)
        member.removed_at = clock.now()
        await StaffMember.update({StaffMember.removed_at: member.removed_at}).where(
            StaffMember.id == staff_id, StaffMember.removed_at.is_null()
        )
        await record_merchant_activity(org_id, "staff.removed", id=str(staff_id))
    return member
