"""What every API controller shares: the OpenAPI helpers (problems, examples, security), strict JSON bodies
read once, the ``Allow`` header, and the request type aliases. No domain code: every package may
import it."""
