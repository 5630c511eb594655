"""Contact cards sealed to a provider agency's key: only the agency's private key opens them,
the private key is kept only wrapped under the agency passphrase, and a session holds an
unlocked key only split between the server and the browser."""

from __future__ import annotations

import nacl.pwhash
import pytest
from nacl.public import PrivateKey

from wellbeat.care.sealing import (
    ContactCard,
    SealingError,
    SessionVault,
    fingerprint,
    new_agency_key,
    seal,
    unseal,
    unwrap_private_key,
    wrap_private_key,
)

FAST = {
    "opslimit": nacl.pwhash.argon2id.OPSLIMIT_MIN,
    "memlimit": nacl.pwhash.argon2id.MEMLIMIT_MIN,
}
PASSPHRASE = "river-lantern-orchard-42"
CARD = ContactCard(
    name="Jordan Rivera",
    phone="+1 515 555 0142",
    contact_method="text",
    contact_time="after 5 pm",
    address="12 Elm St",
)


def test_a_sealed_card_opens_only_with_the_agency_private_key() -> None:
    wrapped = new_agency_key(PASSPHRASE, **FAST)
    sealed = seal(CARD, wrapped.public_key)
    assert b"Jordan" not in sealed and b"555" not in sealed
    private = unwrap_private_key(wrapped, PASSPHRASE)
    assert unseal(sealed, private) == CARD
    with pytest.raises(SealingError, match="not sealed to this agency key"):
        unseal(sealed, PrivateKey.generate())
    with pytest.raises(SealingError):
        unseal(sealed[:-1] + bytes([sealed[-1] ^ 1]), private)


def test_the_wrapped_private_key_needs_the_passphrase() -> None:
    wrapped = new_agency_key(PASSPHRASE, **FAST)
    private = unwrap_private_key(wrapped, PASSPHRASE)
    assert bytes(private) not in wrapped.wrapped_private_key
    with pytest.raises(SealingError, match="passphrase does not open"):
        unwrap_private_key(wrapped, "river-lantern-orchard-43")
    rewrapped = wrap_private_key(private, "a-new-agency-passphrase", **FAST)
    assert rewrapped.public_key == wrapped.public_key
    assert rewrapped.fingerprint == wrapped.fingerprint == fingerprint(wrapped.public_key)
    assert bytes(unwrap_private_key(rewrapped, "a-new-agency-passphrase")) == bytes(private)


def test_short_passphrases_and_bad_cards_are_refused() -> None:
    with pytest.raises(SealingError, match="at least 12"):
        new_agency_key("short", **FAST)
    with pytest.raises(SealingError, match="field 'name'"):
        ContactCard(name="  ")
    with pytest.raises(SealingError, match="field 'contact_method'"):
        ContactCard(name="A B", contact_method="pigeon")


def test_a_card_never_prints_the_person() -> None:
    assert "Jordan" not in repr(CARD) and "Jordan" not in str(CARD)
    assert "Jordan" not in f"{CARD!r} {[CARD]}"


def test_the_session_vault_needs_both_halves() -> None:
    private = PrivateKey.generate()
    cookie_key = SessionVault.new_cookie_key()
    locked = SessionVault.lock(private, cookie_key)
    assert bytes(private) not in locked
    assert bytes(SessionVault.open(locked, cookie_key)) == bytes(private)
    with pytest.raises(SealingError):
        SessionVault.open(locked, SessionVault.new_cookie_key())
    with pytest.raises(SealingError):
        SessionVault.open(locked, b"short")
