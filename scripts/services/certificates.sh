#!/usr/bin/env bash
# Makes a throwaway certificate authority and a server certificate it signs, for the TLS tests.
#
#   scripts/services/certificates.sh DIR
#
# Writes DIR/ca.pem (trust this), DIR/server.pem and DIR/server.key (the server's, for
# localhost and 127.0.0.1, valid two days), DIR/other.pem and DIR/other.key (a second
# self-signed certificate, whose key does not match server.pem). P-256 keys, unencrypted.
# SERVER_NAMES replaces the server certificate's names (default DNS:localhost,IP:127.0.0.1).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
command -v openssl >/dev/null 2>&1 || { echo "$0: openssl is not installed (apt-get install openssl)" >&2; exit 1; }
mkdir -p "$1"
cd "$1"
curve=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)

openssl req -x509 "${curve[@]}" -keyout ca.key -out ca.pem -days 2 -subj "/CN=chat test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" 2>/dev/null
openssl req "${curve[@]}" -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
cat >server.ext <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=${SERVER_NAMES:-DNS:localhost,IP:127.0.0.1}
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EXT
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial "0x$(openssl rand -hex 8)" \
    -days 2 -extfile server.ext -out server.pem 2>/dev/null
openssl req -x509 "${curve[@]}" -keyout other.key -out other.pem -days 2 -subj "/CN=other" 2>/dev/null
rm -f server.csr server.ext
# The servers that read these run as this user; keys readable by their owner only.
chmod 600 ca.key server.key other.key
