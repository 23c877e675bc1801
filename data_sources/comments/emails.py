"""Email addresses, checked and normalised in one place with email-validator (offline: no DNS look-ups).

Citizens give an address for updates on their comment; officials log in with one. Both pass ``normalise_email``
before anything is stored, so the store never holds ``Name <a@b>``, spaces, quoted local parts or addresses a
mail server would refuse.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

MAX_EMAIL = 254  # RFC 5321's path limit, which email-validator enforces too


class InvalidEmail(ValueError):
    """The address is not one a mail server would accept; the message says why, in English."""


def normalise_email(address: str, *, allow_display_name: bool = False) -> str:
    """The normalised address (domain lower-cased and IDNA-checked, Unicode NFC), or InvalidEmail.

    ``allow_display_name`` accepts ``Name <a@b.example>`` and keeps only the address (for cleaning old rows);
    forms never allow it."""
    if not isinstance(address, str):
        raise InvalidEmail("not a string")
    try:
        # A lone surrogate cannot be encoded at all: refuse it before the library tries.
        address.encode("utf-8")
        # strict: also the 64-octet limit of the part before the @ (RFC 5321), which mail servers enforce.
        info = validate_email(
            address.strip(), check_deliverability=False, allow_display_name=allow_display_name, strict=True
        )
    except EmailNotValidError as e:
        raise InvalidEmail(str(e)) from None
    except UnicodeError:
        raise InvalidEmail("The address has characters that cannot be encoded.") from None
    return info.normalized


def normalise_official_email(address: str) -> str:
    """Officials' logins are compared case-insensitively: the normalised address, lower-cased."""
    return normalise_email(address).lower()
