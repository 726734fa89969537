#!/usr/bin/env bash
# Regenerates the bootstrap-server certificates that the tests and the demo serve:
# self-signed Ed25519 certificates for bootstrap.example.net padded with subjectAltName entries
# to 300, 1000, 1150 and 1400 octets of DER; from 1000 octets up the first subjectAltName is
# bootstrap.example.net itself (300 octets leave no room for it), so `lwm2m-xdp check` of the
# example config finds its URI's host in the certificate (the sizes that take 2, 4, 5 and 6 DHCPv4 options), plus a PEM copy of
# the 1000-octet one. Ed25519 keys and signatures have fixed sizes, so the DER size depends
# only on the names; the private keys are thrown away (nothing verifies a signature).
set -euo pipefail
cd "$(dirname "$0")"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = bootstrap.example.net\n' \
    >"$tmp/req.cnf"

# build FILLERS TAIL OUT [FIRST]: a certificate whose SAN lists FIRST (when given), FILLERS names
# of 16 characters and one name with a first label of TAIL characters; prints its DER size.
build() {
    local san="${4:+DNS:$4,}" i
    for ((i = 0; i < $1; i++)); do
        san+=$(printf 'DNS:b%03d.example.net,' "$i")
    done
    san+="DNS:$(head -c "$2" /dev/zero | tr '\0' x).example.net"
    openssl req -x509 -config "$tmp/req.cnf" -key "$tmp/key.pem" -outform DER -out "$3" \
        -days 3650 -set_serial 1 \
        -addext "subjectKeyIdentifier=none" -addext "authorityKeyIdentifier=none" \
        -addext "basicConstraints=critical,CA:FALSE" -addext "subjectAltName=$san"
    stat -c %s "$3"
}

# make TARGET: bootstrap-TARGET.der of exactly TARGET octets (or within 1% when DER length
# fields make the exact size unreachable).
make() {
    local target=$1 out="bootstrap-$1.der" fillers=0 tail=1 size diff first=""
    ((target >= 1000)) && first=bootstrap.example.net
    openssl genpkey -algorithm ed25519 -out "$tmp/key.pem"
    for ((try = 0; try < 30; try++)); do
        size=$(build "$fillers" "$tail" "$out" "$first")
        diff=$((target - size))
        ((diff == 0)) && break
        tail=$((tail + diff))
        # A filler name is 18 octets of DER (tag, length, 16 characters).
        while ((tail > 63)); do fillers=$((fillers + 1)); tail=$((tail - 18)); done
        while ((tail < 1)); do fillers=$((fillers - 1)); tail=$((tail + 18)); done
    done
    if ((diff * 100 > target || -diff * 100 > target)); then
        echo "could not make $out near $target octets (got $size)" >&2
        exit 1
    fi
    echo "$out: $size octets"
}

for size in 300 1000 1150 1400; do
    make "$size"
done
openssl x509 -inform DER -in bootstrap-1000.der -out bootstrap-1000.pem
echo "bootstrap-1000.pem: PEM of bootstrap-1000.der"
