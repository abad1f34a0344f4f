"""Subscriptions' routes: start, read, list, cancel and uncancel, change plan or seats (with previews),
pause and resume, drop a scheduled change, preview the next invoice (``/v1/subscriptions``); the seats
of seat-based subscriptions: assign by email, list, revoke (``/v1/customer-seats``). Rules live in
``server.subscriptions.service``."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from server.billing.schemas import CANCEL_EXAMPLE, SEAT_EXAMPLE, SUBSCRIPTION_EXAMPLE, SubscriptionOut
from server.db.pagination import page_of
from server.db.tables import Organization
from server.discounts.schemas import DiscountApply
from server.enums import SubscriptionStatus
from server.http.openapi import API_KEY_SECURITY, CursorParam, LimitParam, example_body, problems
from server.schemas.common import Page
from server.security.keyring import Keyring
from server.settings import Settings
from server.subscriptions import seat_invitations, seats
from server.subscriptions import service as subscriptions
from server.subscriptions.schemas import (
    AssignedSeatOut,
    PlanChange,
    SeatChange,
    SeatCreate,
    SeatOut,
    SubscriptionCancel,
    SubscriptionCreate,
)
from server.subscriptions.service import ChangePreview, InvoicePreview

SubscriptionId = FromPath[UUID]


class SubscriptionController(Controller):
    path = "/v1/subscriptions"
    tags = ["subscriptions"]
    security = API_KEY_SECURITY

    @post("/", operation_id="createSubscription", responses=problems(404, writes=True))
    async def create_subscription(
        self,
        org: NamedDependency[Organization],
        data: Annotated[SubscriptionCreate, example_body(SUBSCRIPTION_EXAMPLE)],
    ) -> SubscriptionOut:
        """Start a subscription: a trial when the price has one, else a first order charged at once (a
        declined card leaves it past_due, in dunning)."""
        return SubscriptionOut.of(
            await subscriptions.create_subscription(
                org.id,
                data.customer_id,
                data.price_id,
                seats=data.seats,
                payment_method_id=data.payment_method_id,
                trial_days=data.trial_days,
            )
        )

    @get("/", operation_id="listSubscriptions", responses=problems(422))
    async def list_subscriptions(
        self,
        org: NamedDependency[Organization],
        limit: Annotated[int, LimitParam] = 20,
        cursor: Annotated[str | None, CursorParam] = None,
        customer_id: Annotated[UUID | None, QueryParameter()] = None,
        status: Annotated[SubscriptionStatus | None, QueryParameter()] = None,
    ) -> Page[SubscriptionOut]:
        """Subscriptions oldest first, optionally of one customer or in one status."""
        rows = await subscriptions.list_subscriptions(org.id, customer_id=customer_id, status=status)
        page = page_of(rows, limit=limit, cursor=cursor)
        return Page(items=[SubscriptionOut.of(s) for s in page.items], next_cursor=page.next_cursor)

    @get("/{subscription_id:uuid}", operation_id="getSubscription", responses=problems(404))
    async def get_subscription(
        self, org: NamedDependency[Organization], subscription_id: SubscriptionId
    ) -> SubscriptionOut:
        """One subscription."""
        return SubscriptionOut.of(await subscriptions.get_subscription(org.id, subscription_id))

    @post(
        "/{subscription_id:uuid}/cancel",
        operation_id="cancelSubscription",
        status_code=200,
        responses=problems(404, writes=True),
    )
    async def cancel_subscription(
        self,
        org: NamedDependency[Organization],
        subscription_id: SubscriptionId,
        data: Annotated[SubscriptionCancel, example_body(CANCEL_EXAMPLE)],
    ) -> SubscriptionOut:
        """Cancel at the period end (default) or now, refunding the unused time as ``refund`` says."""
        return SubscriptionOut.of(
            await subscriptions.cancel_subscription(
                org.id,
                subscription_id,
                at_period_end=data.at_period_end,
                reason=data.reason,
                comment=data.comment,
                refund=data.refund,
            )
        )

    @post(
        "/{subscription_id:uuid}/uncancel",
        operation_id="uncancelSubscription",
        status_code=200,
        responses=problems(404, writes=True),
    )
    async def uncancel_subscription(
        self, org: NamedDependency[Organization], subscription_id: SubscriptionId
    ) -> SubscriptionOut:
        """Undo a cancellation scheduled for the period end."""
        return SubscriptionOut.of(await subscriptions.uncancel_subscription(org.id, subscription_id))

    @get(
        "/{subscription_id:uuid}/plan-change-preview",
        operation_id="previewPlanChange",
        responses=problems(404, 409, 422),
    )
    async def preview_plan_change(
        self,
        org: NamedDependency[Organization],
        subscription_id: SubscriptionId,
        price_id: Annotated[UUID, QueryParameter()],
    ) -> ChangePreview:
        """What switching to ``price_id`` would do now: when, and the proration charged or credited."""
        return await subscriptions.preview_plan_change(org.id, subscription_id, price_id)

    @post(
        "/{subscription_id:uuid}/change-plan",
        operation_id="changePlan",
        status_code=200,
        responses=problems(402, 403, 404, writes=True),
    )
    async def change_plan(
        self,
        org: NamedDependency[Organization],
        subscription_id: SubscriptionId,
        data: Annotated[PlanChange, example_body({"price_id": "9b1d7c3a-2e4f-4a6b-8c9d-0e1f2a3b4c5d"})],
    ) -> SubscriptionOut:
        """Switch plans now with a proration, or at the period end, as the portal settings' timing says."""
        changed = await subscriptions.change_plan(org.id, subscription_id, data.price_id)
        return SubscriptionOut.of(changed.subscription)

    @get(
        "/{subscription_id:uuid}/seat-change-preview",
        operation_id="previewSeatChange",
        responses=problems(404, 409, 422),
    )
    async def preview_seat_change(
        self,
        org: NamedDependency[Organization],
        subscription_id: SubscriptionId,
        seats: Annotated[int, QueryParameter(ge=1, le=100_000)],
    ) -> ChangePreview:
        """What changing the seat count would charge or credit now."""
        return await subscriptions.preview_seat_change(org.id, subscription_id, seats)

    @post(
        "/{subscription_id:uuid}/seats",
        operation_id="changeSeats",
        status_code=200,
        responses=problems(402, 404, writes=True),
    )
    async def change_seats(
        self,
        org: NamedDependency[Organization],
        subscription_id: SubscriptionId,
        data: Annotated[SeatChange, example_body({"seats": 8})],
    ) -> SubscriptionOut:
        """Change the seat count now, prorated; refused below the seats already assigned."""
        return SubscriptionOut.of(
            (await subscriptions.change_seats(org.id, subscription_id, data.seats)).subscription
        )

    @post(
        "/{subscription_id:uuid}/pause",
        operation_id="pauseSubscription",
        status_code=200,
        responses=problems(404, writes=True),
    )
    async def pause_subscription(
        self, org: NamedDependency[Organization], subscription_id: SubscriptionId
    ) -> SubscriptionOut:
        """Pause an active subscription: benefits are withdrawn and later periods are not billed."""
        return SubscriptionOut.of(await subscriptions.pause_subscription(org.id, subscription_id))

    @post(
        "/{subscription_id:uuid}/resume",
        operation_id="resumeSubscription",
        status_code=200,
        responses=problems(404, writes=True),
    )
    async def resume_subscription(
        self, org: NamedDependency[Organization], subscription_id: SubscriptionId
    ) -> SubscriptionOut:
        """Resume a paused subscription."""
        return SubscriptionOut.of(await subscriptions.resume_subscription(org.id, subscription_id))

    @post(
        "/{subscription_id:uuid}/clear-scheduled-change",
        operation_id="clearScheduledChange",
        status_code=200,
        responses=problems(404, writes=True),
    )
    async def clear_scheduled_change(
        self, org: NamedDependency[Organization], subscription_id: SubscriptionId
    ) -> SubscriptionOut:
        """Drop a plan change scheduled for the period end."""
        return SubscriptionOut.of(await subscriptions.clear_scheduled_change(org.id, subscription_id))

    @get(
        "/{subscription_id:uuid}/upcoming-invoice",
        operation_id="previewNextInvoice",
        responses=problems(404, 409),
    )
    async def preview_next_invoice(
        self, org: NamedDependency[Organization], subscription_id: SubscriptionId
    ) -> InvoicePreview:
        """The renewal order as it stands now: usage so far, base and seats, credits, wallet."""
        return await subscriptions.preview_next_invoice(org.id, subscription_id)

    @post(
        "/{subscription_id:uuid}/discount",
        operation_id="applySubscriptionDiscount",
        status_code=200,
        responses=problems(404, 409, writes=True),
    )
    async def apply_discount(
        self,
        org: NamedDependency[Organization],
        subscription_id: SubscriptionId,
        data: Annotated[DiscountApply, example_body({"promotion_code": "SPRING20"})],
    ) -> SubscriptionOut:
        """Redeem a coupon (``coupon_id``) or a promotion code for this subscription; it replaces any
        discount running. A code that cannot be redeemed is refused with 422 and a ``reason``: ``unknown``,
        ``inactive``, ``expired``, ``used_up``, ``already_used``, ``not_applicable`` or ``currency``."""
        return SubscriptionOut.of(
            await subscriptions.apply_discount(
                org.id, subscription_id, coupon_id=data.coupon_id, promotion_code=data.promotion_code
            )
        )

    @delete(
        "/{subscription_id:uuid}/discount",
        operation_id="removeSubscriptionDiscount",
        status_code=200,
        responses=problems(404, 409, writes=True),
    )
    async def remove_discount(
        self, org: NamedDependency[Organization], subscription_id: SubscriptionId
    ) -> SubscriptionOut:
        """End the running discount now."""
        return SubscriptionOut.of(await subscriptions.remove_discount(org.id, subscription_id))


class CustomerSeatController(Controller):
    path = "/v1/customer-seats"
    tags = ["customer-seats"]
    security = API_KEY_SECURITY

    @post("/", operation_id="assignSeat", responses=problems(404, writes=True))
    async def assign_seat(
        self,
        org: NamedDependency[Organization],
        keyring: NamedDependency[Keyring],
        settings: NamedDependency[Settings],
        data: Annotated[SeatCreate, example_body(SEAT_EXAMPLE)],
    ) -> AssignedSeatOut:
        """Give a seat to an email: a pending seat with a claim token valid for a day
        (``customer_seat.assigned``), and the invitation email unless ``send_invitation`` is false; 409 when
        every seat is taken."""
        if data.send_invitation:
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
