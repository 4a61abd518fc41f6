#!/usr/bin/env python3
"""Regenerate the JWT interoperability vectors in this folder.

The tokens in pyjwt.txt are produced by PyJWT (with pyca/cryptography, i.e.
OpenSSL, doing the signatures): an implementation other than the Rust code under
test, so the Rust tests check that palisade-token verifies what another
library writes, for every algorithm it supports.

Usage (from this folder):

    pip install -r requirements.txt
    python3 generate.py

The keys in keys/ are TEST-ONLY keys, committed on purpose so the vectors can be
regenerated and checked; they protect nothing. They are created on the first run
and reused afterwards (delete keys/ to make new ones). HMAC secrets are derived
from labels with SHAKE-256, so they are deterministic. ECDSA, PSS and the random
`jti` make the tokens differ between runs; the claims are fixed.

Record format of pyjwt.txt (tab-separated):

    <case> <alg> <key file> <valid|invalid:reason> <token>

After writing, every record is decoded again with PyJWT to check it says what
the file claims.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import cryptography
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

HERE = Path(__file__).resolve().parent
KEYS = HERE / "keys"

# Fixed times: the Rust tests verify with a manual clock standing at NOW.
NOW = 1_800_000_000
CLAIMS = {
    "iss": "https://idp.example",
    "aud": "palisade-tests",
    "sub": "user-1234",
    "iat": NOW - 60,
    "nbf": NOW - 60,
    "exp": NOW + 3600,
    "jti": "interop-1",
    "scope": "read write",
}


def secret(label: str, length: int) -> bytes:
    return hashlib.shake_256(f"palisade-token interop {label}".encode()).digest(length)


def write_private(path: Path, key, fmt) -> None:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())
    )


def write_public(path: Path, key, fmt=serialization.PublicFormat.SubjectPublicKeyInfo) -> None:
    path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, fmt))


def ensure_keys() -> None:
    KEYS.mkdir(exist_ok=True)
    pkcs8 = serialization.PrivateFormat.PKCS8
    if not (KEYS / "rsa_private.pem").exists():
        for name in ("rsa", "rsa_other"):
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            write_private(KEYS / f"{name}_private.pem", key, pkcs8)
            write_public(KEYS / f"{name}_public.pem", key)
        key = serialization.load_pem_private_key((KEYS / "rsa_private.pem").read_bytes(), None)
        write_private(KEYS / "rsa_private_pkcs1.pem", key, serialization.PrivateFormat.TraditionalOpenSSL)
        write_public(KEYS / "rsa_public_pkcs1.pem", key, serialization.PublicFormat.PKCS1)
        weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        write_private(KEYS / "rsa1024_private.pem", weak, pkcs8)
        write_public(KEYS / "rsa1024_public.pem", weak)
    if not (KEYS / "rsa8192_private.pem").exists():
        # The RSA size bounds: 8192 bits is the largest accepted, 8200 just over it.
        for bits in (8192, 8200):
            key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
            write_private(KEYS / f"rsa{bits}_private.pem", key, pkcs8)
            write_public(KEYS / f"rsa{bits}_public.pem", key)
    if not (KEYS / "ec_private.pem").exists():
        for name in ("ec", "ec_other"):
            key = ec.generate_private_key(ec.SECP256R1())
            write_private(KEYS / f"{name}_private.pem", key, pkcs8)
            write_public(KEYS / f"{name}_public.pem", key)
        key = serialization.load_pem_private_key((KEYS / "ec_private.pem").read_bytes(), None)
        write_private(KEYS / "ec_private_sec1.pem", key, serialization.PrivateFormat.TraditionalOpenSSL)
        p384 = ec.generate_private_key(ec.SECP384R1())
        write_private(KEYS / "ec_p384_private.pem", p384, pkcs8)
        write_public(KEYS / "ec_p384_public.pem", p384)
    if not (KEYS / "ec_p384_other_private.pem").exists():
        p384 = ec.generate_private_key(ec.SECP384R1())
        write_private(KEYS / "ec_p384_other_private.pem", p384, pkcs8)
        write_public(KEYS / "ec_p384_other_public.pem", p384)
        key = serialization.load_pem_private_key((KEYS / "ec_p384_private.pem").read_bytes(), None)
        write_private(KEYS / "ec_p384_private_sec1.pem", key, serialization.PrivateFormat.TraditionalOpenSSL)
    if not (KEYS / "ec_p521_private.pem").exists():
        for name in ("ec_p521", "ec_p521_other"):
            key = ec.generate_private_key(ec.SECP521R1())
            write_private(KEYS / f"{name}_private.pem", key, pkcs8)
            write_public(KEYS / f"{name}_public.pem", key)
        key = serialization.load_pem_private_key((KEYS / "ec_p521_private.pem").read_bytes(), None)
        write_private(KEYS / "ec_p521_private_sec1.pem", key, serialization.PrivateFormat.TraditionalOpenSSL)
    if not (KEYS / "ed25519_private.pem").exists():
        for name in ("ed25519", "ed25519_other"):
            key = ed25519.Ed25519PrivateKey.generate()
            write_private(KEYS / f"{name}_private.pem", key, pkcs8)
            write_public(KEYS / f"{name}_public.pem", key)
    for alg, length in (("hs256", 32), ("hs384", 48), ("hs512", 64)):
        (KEYS / f"{alg}.hex").write_text(secret(alg, length).hex() + "\n")
        (KEYS / f"{alg}_other.hex").write_text(secret(alg + " other", length).hex() + "\n")


# alg -> (signing key file, verifying key file used by the Rust test, other signing key)
ALGS = {
    "HS256": ("hs256.hex", "hs256.hex", "hs256_other.hex"),
    "HS384": ("hs384.hex", "hs384.hex", "hs384_other.hex"),
    "HS512": ("hs512.hex", "hs512.hex", "hs512_other.hex"),
    "RS256": ("rsa_private.pem", "rsa_public.pem", "rsa_other_private.pem"),
    "RS384": ("rsa_private.pem", "rsa_public.pem", "rsa_other_private.pem"),
    "RS512": ("rsa_private.pem", "rsa_public.pem", "rsa_other_private.pem"),
    "PS256": ("rsa_private.pem", "rsa_public.pem", "rsa_other_private.pem"),
    "PS384": ("rsa_private.pem", "rsa_public.pem", "rsa_other_private.pem"),
    "PS512": ("rsa_private.pem", "rsa_public.pem", "rsa_other_private.pem"),
    "ES256": ("ec_private.pem", "ec_public.pem", "ec_other_private.pem"),
    "ES384": ("ec_p384_private.pem", "ec_p384_public.pem", "ec_p384_other_private.pem"),
    "ES512": ("ec_p521_private.pem", "ec_p521_public.pem", "ec_p521_other_private.pem"),
    "EdDSA": ("ed25519_private.pem", "ed25519_public.pem", "ed25519_other_private.pem"),
}


def load_signing(name: str):
    path = KEYS / name
    if name.endswith(".hex"):
        return bytes.fromhex(path.read_text().strip())
    return path.read_bytes()


def main() -> int:
    ensure_keys()
    rows = []
    for alg, (signing, verifying, other) in ALGS.items():
        key = load_signing(signing)
        header = {"kid": f"{alg.lower()}-1", "typ": "JWT"}
        good = jwt.encode(CLAIMS, key, algorithm=alg, headers=header)
        rows.append(("claims", alg, verifying, "valid", good))
        many = dict(CLAIMS, aud=["other-api", "palisade-tests"])
        rows.append(("aud_array", alg, verifying, "valid", jwt.encode(many, key, algorithm=alg, headers=header)))
        expired = dict(CLAIMS, exp=NOW - 1)
        rows.append(("expired", alg, verifying, "invalid:expired", jwt.encode(expired, key, algorithm=alg, headers=header)))
        wrong = jwt.encode(CLAIMS, load_signing(other), algorithm=alg, headers=header)
        rows.append(("other_key", alg, verifying, "invalid:bad_signature", wrong))
        no_exp = {k: v for k, v in CLAIMS.items() if k != "exp"}
        rows.append(("no_exp", alg, verifying, "invalid:missing_claim", jwt.encode(no_exp, key, algorithm=alg, headers=header)))

    out = HERE / "pyjwt.txt"
    with out.open("w") as f:
        f.write("# JWTs signed by another implementation, verified by tests/interop.rs\n")
        f.write(f"# Source library: PyJWT {jwt.__version__} (jwt.encode), signatures by pyca/cryptography {cryptography.__version__}\n")
        f.write("# generated by generate.py - do not edit by hand; regenerate with:\n")
        f.write("#   pip install -r requirements.txt && python3 generate.py\n")
        f.write(f"# Verify with the clock at {NOW}, issuer {CLAIMS['iss']}, audience {CLAIMS['aud']}.\n")
        f.write("# case\talg\tverifying key file (keys/)\texpected\ttoken\n")
        for row in rows:
            f.write("\t".join(row) + "\n")

    # Read back: every valid row must decode with PyJWT, every invalid one must not.
    failures = 0
    for case, alg, verifying, expected, token in rows:
        vkey = load_signing(verifying)
        try:
            # PyJWT reads the real clock; exp is checked against NOW here instead.
            payload = jwt.decode(
                token, vkey, algorithms=[alg], audience=CLAIMS["aud"], issuer=CLAIMS["iss"],
                options={"require": ["exp"], "verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
            ok = payload["exp"] > NOW
        except jwt.PyJWTError:
            ok = False
        if ok != (expected == "valid"):
            print(f"mismatch: {case} {alg}: expected {expected}", file=sys.stderr)
            failures += 1
    print(f"wrote {len(rows)} records to {out.name}; {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
