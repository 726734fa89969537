#!/usr/bin/env bash
# Regenerates the files the `check` unit tests read (src/check/tests.rs): certificates with
# the properties a check warns about, and files that are not certificates at all. The tests
# take "now" from each certificate's own validity, so the dates these get do not matter.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# cert KEYFILE OUT CN SAN: a self-signed DER certificate (SAN empty: no extension).
cert() {
    printf '[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = %s\n' "$3" >"$tmp/req.cnf"
    local ext=(-addext "basicConstraints=critical,CA:FALSE")
    [[ -n $4 ]] && ext+=(-addext "subjectAltName=$4")
    openssl req -x509 -config "$tmp/req.cnf" -key "$1" -outform DER -out "$2" -days 3650 \
        -set_serial 7 "${ext[@]}" 2>/dev/null
}

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$tmp/rsa1024.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/p256.pem" 2>/dev/null
cert "$tmp/rsa1024.pem" rsa1024.der weak.example.net "DNS:weak.example.net"
cert "$tmp/p256.pem" ip-and-wildcard.der 198.18.0.1 "IP:198.18.0.1,IP:2001:db8::10,DNS:*.example.net"
cert "$tmp/p256.pem" cn-only.der bootstrap.example.net ""
# Not certificates, or not only one.
cp "$tmp/p256.pem" private-key.pem
openssl pkey -in "$tmp/p256.pem" -outform DER -out private-key.der
openssl req -new -key "$tmp/p256.pem" -subj /CN=bootstrap.example.net -out request.pem
openssl x509 -inform DER -in cn-only.der -out "$tmp/cn-only.pem"
openssl x509 -inform DER -in rsa1024.der -out "$tmp/rsa1024-cert.pem"
cat "$tmp/cn-only.pem" "$tmp/rsa1024-cert.pem" >chain.pem
cat "$tmp/cn-only.pem" "$tmp/p256.pem" >cert-and-key.pem
openssl x509 -inform DER -in cn-only.der -text >text-before.pem
head -c 200 cn-only.der >truncated.der
echo "fixtures written"
