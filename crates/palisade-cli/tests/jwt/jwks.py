"""Prints a JWKS document with the public keys generate.sh made, each with a kid and alg.

Uses the `cryptography` package (pip install cryptography) only to read the PEM files.
"""
import base64
import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def load(path):
    with open(path, "rb") as f:
        return serialization.load_pem_public_key(f.read())


keys = []
ed = load("ed25519.pub.pem")
assert isinstance(ed, ed25519.Ed25519PublicKey)
raw = ed.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
keys.append({"kty": "OKP", "crv": "Ed25519", "x": b64(raw), "kid": "ed-1", "alg": "EdDSA", "use": "sig"})
p = load("p256.pub.pem")
assert isinstance(p, ec.EllipticCurvePublicKey)
n = p.public_numbers()
keys.append({"kty": "EC", "crv": "P-256", "x": b64(n.x.to_bytes(32, "big")), "y": b64(n.y.to_bytes(32, "big")), "kid": "ec-1", "alg": "ES256", "use": "sig"})
r = load("rsa2048.pub.pem")
assert isinstance(r, rsa.RSAPublicKey)
rn = r.public_numbers()
keys.append({"kty": "RSA", "n": b64(rn.n.to_bytes((rn.n.bit_length() + 7) // 8, "big")), "e": b64(rn.e.to_bytes(3, "big")), "kid": "rsa-1", "alg": "RS256", "use": "sig"})
print(json.dumps({"keys": keys}, indent=2))
