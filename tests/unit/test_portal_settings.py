import msgspec
import pytest

from server.schemas.portal_settings import (
    PortalSettings,
    Sections,
    dump_portal_settings,
    load_portal_settings,
)
from server.schemas.views import VIEW_NAMES


def test_defaults_fill_everything_never_set():
    settings = load_portal_settings({"branding": "{}", "portal_settings": "{}"})
    assert settings == PortalSettings()
    assert len(settings.features.cancellation_reasons) == 8
    assert settings.sections.wallet is True


def test_round_trip_through_the_two_columns():
    settings = load_portal_settings({"branding": '{"primary_color": "#ff0000"}', "portal_settings": "{}"})
    branding, rest = dump_portal_settings(settings)
    again = load_portal_settings({"branding": branding, "portal_settings": rest})
    assert again.branding.primary_color == "#ff0000"
    assert again == settings


def test_unknown_fields_are_refused():
    with pytest.raises(msgspec.ValidationError):
        load_portal_settings({"branding": "{}", "portal_settings": '{"sections": {"nope": true}}'})


def test_a_view_is_shown_unless_its_section_is_switched_off():
    assert all(Sections().shows(name) for name in VIEW_NAMES)
    assert [name for name in VIEW_NAMES if not Sections(usage=False, seats=False).shows(name)] == ["usage"]
