"""Contact details sealed end to end from the referrer to the receiving provider agency.

A referral names the person only by the hub pseudonym; a provider cannot call a pseudonym. So
the referrer's name-and-contact card is sealed (libsodium sealed box: X25519 + XSalsa20-Poly1305)
to the receiving agency's public key the moment it arrives, and only the ciphertext is kept.

Each provider agency has a keypair. Its private key is kept by the hub only *wrapped*: encrypted
(secret box) with a key derived by Argon2id from a passphrase the agency admin chooses and the
hub never stores. A clinician or coordinator of the agency unlocks the key for a while by typing
the passphrase; see docs/threat-model.md for what this protects against and what it does not.

Framework-free: the web app stores the bytes and decides who may ask.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import nacl.exceptions
import nacl.hash
import nacl.pwhash
import nacl.secret
import nacl.utils
from nacl.encoding import RawEncoder
from nacl.public import PrivateKey, PublicKey, SealedBox

CONTACT_METHODS = ("phone", "text", "in_person", "any")
"""How the person prefers to be contacted."""

CARD_VERSION = 1
"""Version of the sealed card's JSON layout."""

MIN_PASSPHRASE_CHARS = 12
"""An agency passphrase guards every sealed card of the agency: not shorter than this."""

KDF_OPSLIMIT = nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE
KDF_MEMLIMIT = nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE
"""Argon2id cost of unwrapping an agency key (libsodium's interactive limits: 64 MiB, a fraction
of a second on a server core); stored with each wrapped key so the cost can be raised later."""


class SealingError(Exception):
    """A card could not be sealed or opened, or a passphrase did not open a key."""


@dataclass(frozen=True)
class ContactCard:
    """Who the referral is for and how to reach them: what the provider needs to call."""

    name: str
    phone: str = ""
    contact_method: str = "any"
    contact_time: str = ""
    address: str = ""

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise SealingError("field 'name': the person's name is needed on a contact card")
        if self.contact_method not in CONTACT_METHODS:
            raise SealingError(
                f"field 'contact_method': {self.contact_method!r} is not one of "
                f"{', '.join(CONTACT_METHODS)}"
            )

    def to_bytes(self) -> bytes:
        return json.dumps({"v": CARD_VERSION, **asdict(self)}, ensure_ascii=False).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> ContactCard:
        try:
            fields = json.loads(data.decode())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SealingError("the opened card is not a contact card") from exc
        if not isinstance(fields, dict) or fields.pop("v", None) != CARD_VERSION:
            raise SealingError("the opened card has an unknown layout")
        try:
            return cls(**{k: str(v) for k, v in fields.items()})
        except TypeError as exc:
            raise SealingError("the opened card has unexpected fields") from exc

    def __repr__(self) -> str:
        # Never print a person's name into a log line or a traceback by accident.
        return "ContactCard(<sealed fields>)"

    __str__ = __repr__


@dataclass(frozen=True)
class WrappedKey:
    """An agency keypair as the hub keeps it: the public key, and the private key encrypted
    under a passphrase-derived key (salt and Argon2id limits to derive it again)."""

    public_key: bytes
    wrapped_private_key: bytes
    salt: bytes
    opslimit: int
    memlimit: int

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key)


def fingerprint(public_key: bytes) -> str:
    """A short, stable name for a public key (BLAKE2b, 16 hex digits) to show and compare."""
    return nacl.hash.blake2b(public_key, digest_size=8).decode()


def _derive(passphrase: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    return nacl.pwhash.argon2id.kdf(
        nacl.secret.SecretBox.KEY_SIZE,
        passphrase.encode(),
        salt,
        opslimit=opslimit,
        memlimit=memlimit,
    )


def check_passphrase(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE_CHARS:
        raise SealingError(
            f"field 'passphrase': at least {MIN_PASSPHRASE_CHARS} characters (it guards every "
            "contact card sealed to the agency)"
        )


def new_agency_key(
    passphrase: str, *, opslimit: int = KDF_OPSLIMIT, memlimit: int = KDF_MEMLIMIT
) -> WrappedKey:
    """A fresh X25519 keypair, its private half wrapped under ``passphrase``."""
    check_passphrase(passphrase)
    private = PrivateKey.generate()
    return wrap_private_key(private, passphrase, opslimit=opslimit, memlimit=memlimit)


def wrap_private_key(
    private: PrivateKey,
    passphrase: str,
    *,
    opslimit: int = KDF_OPSLIMIT,
    memlimit: int = KDF_MEMLIMIT,
) -> WrappedKey:
    """Wrap ``private`` under ``passphrase`` (also used to change an agency's passphrase)."""
    check_passphrase(passphrase)
    salt = nacl.utils.random(nacl.pwhash.argon2id.SALTBYTES)
    box = nacl.secret.SecretBox(_derive(passphrase, salt, opslimit, memlimit))
    return WrappedKey(
        public_key=bytes(private.public_key),
        wrapped_private_key=bytes(box.encrypt(bytes(private))),
        salt=salt,
        opslimit=opslimit,
        memlimit=memlimit,
    )


def unwrap_private_key(wrapped: WrappedKey, passphrase: str) -> PrivateKey:
    """The agency's private key, or SealingError when the passphrase does not open it."""
    box = nacl.secret.SecretBox(
        _derive(passphrase, wrapped.salt, wrapped.opslimit, wrapped.memlimit)
    )
    try:
        private = PrivateKey(box.decrypt(wrapped.wrapped_private_key))
    except nacl.exceptions.CryptoError:
        raise SealingError("the passphrase does not open this agency key") from None
    if bytes(private.public_key) != wrapped.public_key:
        raise SealingError("the unwrapped private key does not match the public key")
    return private


def seal(card: ContactCard, public_key: bytes) -> bytes:
    """The card sealed to the agency: only its private key opens it (not even the sender's)."""
    return bytes(SealedBox(PublicKey(public_key)).encrypt(card.to_bytes(), encoder=RawEncoder))


def unseal(sealed: bytes, private: PrivateKey) -> ContactCard:
    try:
        data = SealedBox(private).decrypt(sealed)
    except nacl.exceptions.CryptoError:
        raise SealingError("this card was not sealed to this agency key") from None
    return ContactCard.from_bytes(data)


class SessionVault:
    """Unlocked agency keys held for a short while without the hub keeping them at rest:
    each private key is encrypted under a random key that only the browser holds (a cookie),
    and the encrypted key goes into the server-side session. Neither half alone opens it."""

    @staticmethod
    def new_cookie_key() -> bytes:
        return nacl.utils.random(nacl.secret.SecretBox.KEY_SIZE)

    @staticmethod
    def lock(private: PrivateKey, cookie_key: bytes) -> bytes:
        return bytes(nacl.secret.SecretBox(cookie_key).encrypt(bytes(private)))

    @staticmethod
    def open(locked: bytes, cookie_key: bytes) -> PrivateKey:
        try:
            return PrivateKey(nacl.secret.SecretBox(cookie_key).decrypt(locked))
        except (nacl.exceptions.CryptoError, ValueError, TypeError):
            raise SealingError("the unlocked key in this session cannot be opened") from None
