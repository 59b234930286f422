"""Podium's registry signing key: an ES256 key and the self-signed certificate the registry trusts.

The key is made once, on first use, in ``Settings.registry_keys`` (default
``<data root>/registry``): ``token.key`` (PKCS#8 PEM, mode 0600) and
``token.crt`` (the registry's ``rootcertbundle``). The API signs the tokens it
hands to Docker clients with it; a worker that shares the folder signs its own
pull tokens (docs/worker.md "Registry credentials"). Rotating it: delete both
files and restart the API and the registry (tokens in flight stop working).
"""

from __future__ import annotations

import base64
import datetime as dt
import fcntl
import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

KEY_FILE = "token.key"
CERT_FILE = "token.crt"
_VALIDITY = dt.timedelta(days=3650)


class SigningKeyMissing(RuntimeError):  # noqa: N818 - reads as the condition it names
    """The signing key was never made (or is unreadable) where this process looks."""


@dataclass(frozen=True, slots=True)
class SigningKey:
    """The private key, its certificate (PEM) and the key ID the registry looks it up by."""

    private_key: ec.EllipticCurvePrivateKey
    certificate_pem: bytes
    kid: str


def libtrust_key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    """The key ID format the registry computes for each trusted certificate (libtrust).

    SHA-256 of the DER ``SubjectPublicKeyInfo``, its first 240 bits in base32,
    in twelve groups of four separated by colons.

    Examples
    --------
    >>> key = ec.derive_private_key(1, ec.SECP256R1())
    >>> kid = libtrust_key_id(key.public_key())
    >>> len(kid), kid.count(":")
    (59, 11)
    """
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode("ascii")
    return ":".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


def _certificate(key: ec.EllipticCurvePrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Podium registry token signer")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


def _write_private(path: Path, data: bytes, mode: int) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(temporary, mode)  # the umask may have narrowed it
    os.replace(temporary, path)


def _create(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Two processes starting together must not make two keys: one makes it under the lock.
    with (directory / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (directory / KEY_FILE).is_file() and (directory / CERT_FILE).is_file():
            return
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # The certificate first: a key without its certificate would be regenerated.
        _write_private(directory / CERT_FILE, _certificate(key), 0o644)
        _write_private(directory / KEY_FILE, pem, 0o600)


_cache: dict[tuple[str, int], SigningKey] = {}
_cache_lock = threading.Lock()


def load_signing_key(directory: Path, *, create: bool = False) -> SigningKey:
    """The signing key in ``directory``, made first when ``create`` and missing.

    Raises
    ------
    SigningKeyMissing
        There is no key (and ``create`` is false), or it cannot be read.
    """
    key_path, cert_path = directory / KEY_FILE, directory / CERT_FILE
    if create and not (key_path.is_file() and cert_path.is_file()):
        _create(directory)
    try:
        stamp = key_path.stat().st_mtime_ns
    except OSError as exc:
        raise SigningKeyMissing(
            f"no registry signing key at {key_path}: the API makes it on first use; a worker "
            "needs the same folder (PODIUM_REGISTRY_KEY_DIR)"
        ) from exc
    with _cache_lock:
        cached = _cache.get((str(key_path), stamp))
        if cached is not None:
            return cached
    try:
        private = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        certificate_pem = cert_path.read_bytes()
    except (OSError, ValueError) as exc:
        raise SigningKeyMissing(
            f"cannot read the registry signing key in {directory}: {exc}"
        ) from exc
    if not isinstance(private, ec.EllipticCurvePrivateKey):
        raise SigningKeyMissing(f"{key_path} is not an EC key")
    certificate = x509.load_pem_x509_certificate(certificate_pem)
    if certificate.public_key() != private.public_key():
        raise SigningKeyMissing(f"{cert_path} does not belong to {key_path}: delete both")
    loaded = SigningKey(
        private_key=private,
        certificate_pem=certificate_pem,
        kid=libtrust_key_id(private.public_key()),
    )
    with _cache_lock:
        _cache[(str(key_path), stamp)] = loaded
    return loaded
