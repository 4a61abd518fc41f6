#!/bin/sh
# Test-only key pairs for `palisade token` tests, made with the OpenSSL command line, and a
# JWKS document holding the public halves (made by jwks.py from the PEM files).
# Never use these keys for anything else: their private halves are public here.
# Regenerate with: sh generate.sh && python3 jwks.py > jwks.json
set -eu
cd "$(dirname "$0")"
openssl genpkey -algorithm ed25519 -out ed25519.pem
openssl pkey -in ed25519.pem -pubout -out ed25519.pub.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out p256.pem
openssl pkey -in p256.pem -pubout -out p256.pub.pem
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa2048.pem
openssl pkey -in rsa2048.pem -pubout -out rsa2048.pub.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -out p521.pem
openssl pkey -in p521.pem -pubout -out p521.pub.pem
