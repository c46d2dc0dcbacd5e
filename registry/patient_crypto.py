"""The patient's identity encrypted at rest, and the keyed indexes that find it (DOMAIN.md, "The patient's identity").

Encryption is AES-256-GCM from the ``cryptography`` library; nothing here is cryptography of our own. Each
ciphertext names the key that made it and is bound to its patient's id (associated data), so a ciphertext copied
onto another patient's row does not decrypt. The keys are ``settings.PATIENT_DATA_KEYS``: the first encrypts, every
one decrypts, so rows stay readable while ``manage.py rotate_patient_keys`` re-encrypts them under a new first key.

The indexes are keyed HMAC-SHA256 of a normalised value (as ``registry.pseudonym`` does for the fiscal code): the
exact search by family name or admission number compares indexes, never names.
"""

import base64
import hashlib
import hmac
import json
import os
import unicodedata
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

# "v1:<key id>:<base64 of nonce + ciphertext>": the format's version, then which key encrypted it.
_VERSION = "v1"
_NONCE_BYTES = 12


class UndecryptableIdentity(Exception):
    """No configured key decrypts this row (a key was dropped before its rows were rotated), or it was altered."""


@dataclass(frozen=True)
class _Key:
    id: str
    aead: AESGCM


def _decode_key(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.strip().replace("+", "-").replace("/", "_"))


def key_id(raw: bytes) -> str:
    """A short public name of a key (not the key): the first 8 hex digits of its SHA-256."""
    return hashlib.sha256(raw).hexdigest()[:8]


_cache: dict[tuple[str, ...], list[_Key]] = {}


def _keys() -> list[_Key]:
    configured = tuple(settings.PATIENT_DATA_KEYS)
    if not configured:
        raise RuntimeError("PATIENT_DATA_KEYS is empty: the patient's identity cannot be encrypted.")
    if configured not in _cache:
        _cache.clear()
        keys = []
        for text in configured:
            raw = _decode_key(text)
            keys.append(_Key(id=key_id(raw), aead=AESGCM(raw)))
        _cache[configured] = keys
    return _cache[configured]


def current_key_id() -> str:
    """The id of the key that encrypts (the first of the list)."""
    return _keys()[0].id


def _associated_data(patient_id) -> bytes:
    return f"registro648:patient:{patient_id}".encode()


def encrypt_identity(values: dict, *, patient_id) -> str:
    """The identity's fields (a dict of strings) as one ciphertext bound to ``patient_id``, under the first key."""
    key = _keys()[0]
    nonce = os.urandom(_NONCE_BYTES)
    plaintext = json.dumps(values, separators=(",", ":"), sort_keys=True).encode()
    sealed = key.aead.encrypt(nonce, plaintext, _associated_data(patient_id))
    return f"{_VERSION}:{key.id}:{base64.b64encode(nonce + sealed).decode()}"


def ciphertext_key_id(ciphertext: str) -> str:
    return ciphertext.split(":", 2)[1]


def decrypt_identity(ciphertext: str, *, patient_id) -> dict:
    """The identity's fields; UndecryptableIdentity when no configured key opens it for this patient."""
    try:
        version, named_key, payload = ciphertext.split(":", 2)
        blob = base64.b64decode(payload)
    except ValueError:
        raise UndecryptableIdentity("malformed ciphertext") from None
    if version != _VERSION:
        raise UndecryptableIdentity(f"unknown format {version}")
    nonce, sealed = blob[:_NONCE_BYTES], blob[_NONCE_BYTES:]
    # The key it names first; the others too, should two keys share an id prefix.
    for key in sorted(_keys(), key=lambda k: k.id != named_key):
        try:
            plaintext = key.aead.decrypt(nonce, sealed, _associated_data(patient_id))
        except InvalidTag:
            continue
        return json.loads(plaintext)
    raise UndecryptableIdentity("no configured key decrypts it")


# --- Keyed indexes for the exact search ------------------------------------------------------------


def normalise_family_name(name: str) -> str:
    """Case, accents, spaces and punctuation do not count: "D'Amico", "d amico" and "DAMICO" are one name."""
    decomposed = unicodedata.normalize("NFKD", name)
    letters = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return "".join(ch for ch in letters.upper() if ch.isalnum())


def normalise_admission_number(number: str) -> str:
    return "".join(ch for ch in number.upper() if ch.isalnum())


def _keyed_index(purpose: str, normalised: str) -> str:
    if not normalised:
        return ""
    key = settings.PSEUDONYM_KEY.encode()
    # The purpose separates the indexes: a family name never matches an admission number or a fiscal code.
    return hmac.new(key, f"{purpose}\x00{normalised}".encode(), hashlib.sha256).hexdigest()


def family_name_index(name: str) -> str:
    return _keyed_index("family_name", normalise_family_name(name or ""))


def admission_number_index(number: str) -> str:
    return _keyed_index("admission_number", normalise_admission_number(number or ""))
