"""Who Acme's customers are and what happened to them: plain data that ``server.demo.seed`` turns into rows.

Every subscription story is placed relative to the moment the demo is seeded: ``periods_before`` whole
billing periods, then ``days_in`` days into the current one (for a trial: days since it started).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from server.enums import CancellationReason


@dataclass(frozen=True)
class Address:
    line1: str
    city: str
    postal_code: str
    country: str
    state: str = ""

    def as_json(self) -> dict[str, str]:
        return {
            "line1": self.line1,
            "line2": "",
            "city": self.city,
            "state": self.state,
            "postal_code": self.postal_code,
            "country": self.country,
        }


@dataclass(frozen=True)
class Story:
    """One subscription's life.

    ``state`` is one of: active, trialing, past_due, cancel_at_period_end, paused, ended (canceled at the
    end of period ``ends``), ended_now (canceled 12 days into period ``ends`` with a prorated refund).
    """

    plan: str
    state: str
    periods_before: int = 0
    days_in: int = 10
    seats: int = 1
    seats_before: int | None = None
    """Per-seat plans that grew: the count before the upgrade, 10 days into period ``periods_before - 3``."""
    switch_to: str | None = None
    """A plan change the customer scheduled two days ago for the end of the period."""
    ends: int | None = None
    reason: CancellationReason | None = None
    comment: str = ""
    usage_per_day: tuple[int, int] = (0, 0)
    """Metered plans: API requests per day and GB of storage kept (billed in GB-hours)."""


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    locale: str
    address: Address
    company: str = ""
    tax_id: str = ""
    external_id: str | None = None
    story: Story | None = None
    extras: frozenset[str] = field(default_factory=frozenset)
    """onboarding, refund_full, refund_partial, refund_to_wallet, wallet, usage_credit, second_card."""
    members: tuple[tuple[str, str], ...] = ()
    """Team plans: (name, email) of people given a seat. The first ``claimed`` have claimed it, the last
    ``revoked`` lost it, the others have a pending invitation."""
    claimed: int = 0
    revoked: int = 0


def _x(*names: str) -> frozenset[str]:
    return frozenset(names)


PEOPLE: tuple[Person, ...] = (
    Person(
        "Ada Lovelace",
        "ada@analytical-engines.example",
        "en",
        Address("12 St James's Square", "London", "SW1Y 4JH", "GB"),
        company="Analytical Engines Ltd",
        tax_id="GB123456789",
        external_id="usr_1001",
        story=Story("team_month", "active", periods_before=11, days_in=9, seats=8, seats_before=5),
        extras=_x("second_card"),
        members=(
            ("Charles Babbage", "charles@analytical-engines.example"),
            ("Mary Somerville", "mary@analytical-engines.example"),
            ("Augustus De Morgan", "augustus@analytical-engines.example"),
            ("Michael Faraday", "michael@analytical-engines.example"),
            ("Caroline Herschel", "caroline@analytical-engines.example"),
            ("John Herschel", "john@analytical-engines.example"),
            ("Charles Wheatstone", "wheatstone@analytical-engines.example"),
            ("Andrew Crosse", "andrew@analytical-engines.example"),
        ),
        claimed=5,
        revoked=1,
    ),
    Person(
        "Hans Becker",
        "hans.becker@becker-logistik.example",
        "de",
        Address("Am Sandtorkai 50", "Hamburg", "20457", "DE"),
        company="Becker Logistik GmbH",
        tax_id="DE811234567",
        external_id="usr_1002",
        story=Story("team_year", "active", periods_before=0, days_in=212, seats=20),
        members=(
            ("Jonas Weber", "jonas.weber@becker-logistik.example"),
            ("Anna Hoffmann", "anna.hoffmann@becker-logistik.example"),
            ("Felix Wagner", "felix.wagner@becker-logistik.example"),
            ("Laura Schulz", "laura.schulz@becker-logistik.example"),
            ("Paul Koch", "paul.koch@becker-logistik.example"),
            ("Marie Richter", "marie.richter@becker-logistik.example"),
            ("Tim Wolf", "tim.wolf@becker-logistik.example"),
        ),
        claimed=6,
    ),
    Person(
        "Camille Martin",
        "camille@atelier-lumiere.example",
        "fr",
        Address("8 rue Mercière", "Lyon", "69002", "FR"),
        company="Atelier Lumière SARL",
        tax_id="FR40123456789",
        external_id="usr_1003",
        story=Story("team_month", "trialing", days_in=5, seats=3),
        members=(("Hugo Bernard", "hugo@atelier-lumiere.example"),),
    ),
    Person(
        "Kenji Watanabe",
        "kenji@sakura-robotics.example",
        "ja",
        Address("1-7-1 Konan, Minato-ku", "Tokyo", "108-0075", "JP"),
        company="Sakura Robotics KK",
        tax_id="T1234567890123",
        external_id="usr_1004",
        story=Story("api_month", "active", periods_before=11, days_in=12, usage_per_day=(5200, 22)),
        extras=_x("usage_credit"),
    ),
    Person(
        "Priya Raman",
        "priya@monsoon-data.example",
        "en",
        Address("80 Feet Road, Indiranagar", "Bengaluru", "560038", "IN", state="KA"),
        company="Monsoon Data Pvt Ltd",
        tax_id="29ABCDE1234F1Z5",
        external_id="usr_1005",
        story=Story("api_month", "past_due", periods_before=6, days_in=4, usage_per_day=(4100, 9)),
    ),
    Person(
        "Lucas Oliveira",
        "lucas@ipe-digital.example",
        "pt-BR",
        Address("Avenida Paulista 1578", "São Paulo", "01310-200", "BR", state="SP"),
        company="Ipê Digital Ltda",
        tax_id="12.345.678/0001-95",
        external_id="usr_1006",
        story=Story(
            "api_month",
            "cancel_at_period_end",
            periods_before=2,
            days_in=17,
            usage_per_day=(2300, 4),
            reason=CancellationReason.TOO_EXPENSIVE,
            comment="Our traffic grew faster than our budget. We would come back for a yearly plan.",
        ),
    ),
    Person(
        "Emma Johnson",
        "emma.johnson@northwind.example",
        "en",
        Address("400 Broad St", "Seattle", "98109", "US", state="WA"),
        company="Northwind Traders Inc.",
        external_id="usr_1007",
        story=Story("pro_month", "active", periods_before=11, days_in=20),
        extras=_x("refund_full", "second_card"),
    ),
    Person(
        "Sofía García",
        "sofia@olivar-estudio.example",
        "es",
        Address("Calle de Alcalá 42", "Madrid", "28014", "ES"),
        company="Olivar Estudio SL",
        tax_id="ESB12345678",
        story=Story("pro_year", "active", periods_before=1, days_in=61),
    ),
    Person(
        "Noah Williams",
        "noah@williams-woodworks.example",
        "en",
        Address("220 King St W", "Toronto", "M5H 1K4", "CA", state="ON"),
        external_id="usr_1009",
        story=Story(
            "pro_month",
            "cancel_at_period_end",
            periods_before=4,
            days_in=15,
            reason=CancellationReason.MISSING_FEATURES,
            comment="We need single sign-on before we can roll this out to the whole shop.",
        ),
    ),
    Person(
        "Mia Schneider",
        "mia@schneider-design.example",
        "de",
        Address("Torstraße 109", "Berlin", "10119", "DE"),
        company="Schneider Design",
        story=Story(
            "pro_month",
            "ended",
            periods_before=7,
            days_in=3,
            ends=5,
            reason=CancellationReason.SWITCHED_SERVICE,
            comment="Moved everything into the suite our agency already pays for.",
        ),
    ),
    Person(
        "Léa Fontaine",
        "lea@fontaine-ceramique.example",
        "fr",
        Address("14 cours de l'Intendance", "Bordeaux", "33000", "FR"),
        company="Fontaine Céramique",
        external_id="usr_1011",
        story=Story("pro_month", "paused", periods_before=3, days_in=15),
    ),
    Person(
        "Yuki Tanaka",
        "yuki@kumo-games.example",
        "ja",
        Address("2-3-14 Umeda, Kita-ku", "Osaka", "530-0001", "JP"),
        company="Kumo Games",
        story=Story("pro_month", "trialing", days_in=11),
    ),
    Person(
        "Oliver Smith",
        "oliver@smith-and-sons.example",
        "en",
        Address("1 Deansgate", "Manchester", "M3 1AZ", "GB"),
        external_id="usr_1013",
        story=Story("free_month", "active", periods_before=5, days_in=18),
    ),
    Person(
        "Grace Kim",
        "grace@harbor-analytics.example",
        "en",
        Address("1 Seaport Ln", "Boston", "02210", "US", state="MA"),
        company="Harbor Analytics LLC",
        external_id="usr_1014",
        story=Story("legacy_month", "active", periods_before=11, days_in=3),
    ),
    Person(
        "Jan de Vries",
        "jan@dijkstra-solutions.example",
        "nl",
        Address("Herengracht 182", "Amsterdam", "1016 BR", "NL"),
        company="Dijkstra Solutions BV",
        tax_id="NL123456789B01",
        story=Story(
            "team_month",
            "ended_now",
            periods_before=4,
            days_in=25,
            seats=4,
            ends=3,
            reason=CancellationReason.UNUSED,
            comment="The team never really moved over from spreadsheets.",
        ),
        members=(("Sanne Bakker", "sanne@dijkstra-solutions.example"),),
        claimed=1,
    ),
    Person(
        "Isabella Rossi",
        "isabella@rossi-viaggi.example",
        "it",
        Address("Via Dante 7", "Milano", "20121", "IT"),
        company="Rossi Viaggi Srl",
        tax_id="IT12345678901",
        external_id="usr_1016",
        story=Story("pro_month", "active", periods_before=5, days_in=7, switch_to="team_month"),
        extras=_x("onboarding"),
    ),
    Person(
        "Liam O'Brien",
        "liam@clover-apps.example",
        "en",
        Address("25 Grafton Street", "Dublin", "D02 VK60", "IE"),
        company="Clover Apps Ltd",
        tax_id="IE1234567T",
        story=Story("pro_month", "active", periods_before=8, days_in=13),
        extras=_x("refund_partial"),
    ),
    Person(
        "Chloé Dubois",
        "chloe@dubois-conseil.example",
        "fr",
        Address("1250 boulevard René-Lévesque O", "Montréal", "H3B 4W8", "CA", state="QC"),
        company="Dubois Conseil inc.",
        external_id="usr_1018",
        story=Story("pro_month", "active", periods_before=9, days_in=24),
        extras=_x("wallet", "refund_to_wallet"),
    ),
    Person(
        "Ethan Brown",
        "ethan@brownfield.example",
        "en",
        Address("1 Macquarie Pl", "Sydney", "2000", "AU", state="NSW"),
        company="Brownfield Pty Ltd",
        extras=_x("onboarding"),
    ),
    Person(
        "Zoe Fischer",
        "zoe@fischer-labs.example",
        "de",
        Address("Bahnhofstrasse 10", "Zürich", "8001", "CH"),
        company="Fischer Labs AG",
        external_id="usr_1020",
    ),
)
