"""msgspec Structs for payloads shared by the API, the services and the portal."""
