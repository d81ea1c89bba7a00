#!/bin/sh
# The compose stack's TLS: a throw-away CA and the exporter's certificate, made once into the `tls` volume by the
# `tls` service (the exporter image has openssl, from ca-certificates). The exporter reads tls.crt and tls.key,
# Prometheus trusts ca.crt. The CA's key is deleted once it has signed: nothing else can be issued from it.
# Replace the files with your own (the exporter picks up new ones by itself); delete them to make new ones.
set -eu
dir=/tls
[ -s "$dir/tls.crt" ] && [ -s "$dir/tls.key" ] && [ -s "$dir/ca.crt" ] && exit 0
umask 077
work="$(mktemp -d)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 -subj "/CN=ief-exporter compose CA" \
  -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 -subj "/CN=exporter" \
  -extensions v3_req -addext "subjectAltName=DNS:exporter,DNS:localhost,IP:127.0.0.1,IP:::1" \
  -addext "extendedKeyUsage=serverAuth" -CA "$work/ca.crt" -CAkey "$work/ca.key" \
  -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null
# The exporter (uid 10038) reads the key; everyone may read the certificates.
install -m 0644 "$work/ca.crt" "$work/tls.crt" "$dir/"
install -m 0400 -o 10038 -g 10038 "$work/tls.key" "$dir/"
rm -rf "$work"
echo "make-tls: wrote $dir/ca.crt, $dir/tls.crt and $dir/tls.key"
