"""Seats of seat-based subscriptions: assign by email, list, revoke."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from server.api.openapi import API_KEY_SECURITY, example_body, problems
from server.db.tables import Organization
from server.schemas.billing import SEAT_EXAMPLE
from server.schemas.common import Page
from server.schemas.subscriptions import AssignedSeatOut, SeatCreate, SeatOut
from server.security.keyring import Keyring
from server.services import seat_invitations, seats
from server.settings import Settings
from server.state import AnyRequest, app_state


class CustomerSeatController(Controller):
    path = "/v1/customer-seats"
    tags = ["customer-seats"]
    security = API_KEY_SECURITY

    @post("/", operation_id="assignSeat", responses=problems(404, writes=True))
    async def assign_seat(
        self,
        request: AnyRequest,
        org: NamedDependency[Organization],
        keyring: NamedDependency[Keyring],
        data: Annotated[SeatCreate, example_body(SEAT_EXAMPLE)],
    ) -> AssignedSeatOut:
        """Give a seat to an email: a pending seat with a claim token valid for a day
        (``customer_seat.assigned``), and the invitation email unless ``send_invitation`` is false; 409 when
        every seat is taken."""
        if data.send_invitation:
            settings: Settings = app_state(request).settings
            seat, token = await seat_invitations.invite(
                keyring, settings.public_url, org, data.subscription_id, data.email
            )
        else:
            seat, token = await seats.assign_seat(org.id, data.subscription_id, data.email)
        return AssignedSeatOut(
            **{f: getattr(SeatOut.of(seat), f) for f in SeatOut.__struct_fields__}, claim_token=token
        )

    @get("/", operation_id="listSeats", responses=problems(404))
    async def list_seats(
        self, org: NamedDependency[Organization], subscription_id: Annotated[UUID, QueryParameter()]
    ) -> Page[SeatOut]:
        """The seats of one subscription, in the order they were given."""
        rows = await seats.list_seats(org.id, subscription_id)
        return Page(items=[SeatOut.of(s) for s in rows], next_cursor=None)

    @delete("/{seat_id:uuid}", operation_id="revokeSeat", status_code=200, responses=problems(404, 409))
    async def revoke_seat(self, org: NamedDependency[Organization], seat_id: FromPath[UUID]) -> SeatOut:
        """Revoke a seat, freeing it (``customer_seat.revoked``)."""
        return SeatOut.of(await seats.revoke_seat(org.id, seat_id))
