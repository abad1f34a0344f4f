"""The portal's settings as the merchant edits them: sections, branding, languages, email and the
allowed origins (the settings' shape every layer reads is ``server.schemas.portal_settings``).
API: ``/v1/portal-settings``."""
