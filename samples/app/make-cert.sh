#!/usr/bin/env bash
# Throwaway TLS material for the sample app and sioreplay's TLS tests (openssl CLI, RSA 2048, 2 days).
#
#   samples/app/make-cert.sh OUT_DIR
#
# Writes into OUT_DIR (created if needed):
#   ca.pem, ca.key              a test CA ("CN=sioreplay test CA")
#   server.pem, server.key      signed by that CA: CN=localhost,
#                               subjectAltName DNS:localhost, IP:127.0.0.1, IP:::1
#   wrong.pem, wrong.key        SELF-SIGNED, CN=wrong.example, SAN DNS:wrong.example
#                               (fails chain verification and hostname verification)
#   wrongname.pem, wrongname.key signed by the test CA, CN=wrong.example, SAN DNS:wrong.example
#                               (chain is fine with --cacert ca.pem; only the hostname check fails)
#
# Idempotent: when every file is there, the certificates are valid for at least one more hour and
# server.pem/wrongname.pem verify against ca.pem, nothing is done. Otherwise all of it is
# regenerated (into a temporary folder, then moved in place). Silent on success; on failure prints
# openssl's output and exits non-zero. Keys are mode 0600 (readable by the user who ran it).
set -euo pipefail

(($# == 1)) || { echo "usage: $0 OUT_DIR" >&2; exit 2; }
OUT=$1
OPENSSL=${OPENSSL:-openssl}
command -v "$OPENSSL" >/dev/null 2>&1 || { echo "make-cert.sh: openssl not found (apt-get install -y openssl)" >&2; exit 1; }

FILES=(ca.pem ca.key server.pem server.key wrong.pem wrong.key wrongname.pem wrongname.key)
DAYS=2

up_to_date() {
  local f
  for f in "${FILES[@]}"; do [[ -s $OUT/$f ]] || return 1; done
  for f in ca.pem server.pem wrong.pem wrongname.pem; do
    "$OPENSSL" x509 -noout -checkend 3600 -in "$OUT/$f" >/dev/null 2>&1 || return 1
  done
  "$OPENSSL" verify -CAfile "$OUT/ca.pem" "$OUT/server.pem" "$OUT/wrongname.pem" >/dev/null 2>&1 || return 1
  # key matches certificate
  [[ "$("$OPENSSL" x509 -noout -pubkey -in "$OUT/server.pem" 2>/dev/null)" == \
     "$("$OPENSSL" pkey -pubout -in "$OUT/server.key" 2>/dev/null)" ]] || return 1
}

mkdir -p "$OUT"
up_to_date && exit 0

TMP="$(mktemp -d "$OUT/.make-cert.XXXXXX")"
LOG="$TMP/openssl.log"
trap 'rm -rf "$TMP"' EXIT
fail() {
  echo "make-cert.sh: $*" >&2
  [[ -s $LOG ]] && cat "$LOG" >&2
  exit 1
}
run() { "$OPENSSL" "$@" >>"$LOG" 2>&1 || fail "openssl $1 failed"; }
serial() { echo "0x$("$OPENSSL" rand -hex 16)"; }

# A self-contained config: nothing depends on the system openssl.cnf.
cat >"$TMP/openssl.cnf" <<'EOF'
[ req ]
distinguished_name = dn
prompt             = no
[ dn ]
CN = unused
[ v3_ca ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
[ v3_server ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, keyEncipherment
extendedKeyUsage       = serverAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
subjectAltName         = DNS:localhost, IP:127.0.0.1, IP:::1
[ v3_wrongname ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, keyEncipherment
extendedKeyUsage       = serverAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
subjectAltName         = DNS:wrong.example
[ v3_wrong ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, keyEncipherment
extendedKeyUsage       = serverAuth
subjectKeyIdentifier   = hash
subjectAltName         = DNS:wrong.example
EOF
CNF="$TMP/openssl.cnf"
newkey() { run genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$TMP/$1"; }

# CA
newkey ca.key
run req -config "$CNF" -new -x509 -sha256 -days "$DAYS" -set_serial "$(serial)" \
  -key "$TMP/ca.key" -subj "/CN=sioreplay test CA" -extensions v3_ca -out "$TMP/ca.pem"

# leaf certificates signed by the CA: NAME CN EXTENSIONS
signed() {
  newkey "$1.key"
  run req -config "$CNF" -new -sha256 -key "$TMP/$1.key" -subj "/CN=$2" -out "$TMP/$1.csr"
  run x509 -req -sha256 -days "$DAYS" -set_serial "$(serial)" -in "$TMP/$1.csr" \
    -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" -extfile "$CNF" -extensions "$3" -out "$TMP/$1.pem"
  rm -f "$TMP/$1.csr"
}
signed server localhost v3_server
signed wrongname wrong.example v3_wrongname

# self-signed, wrong name
newkey wrong.key
run req -config "$CNF" -new -x509 -sha256 -days "$DAYS" -set_serial "$(serial)" \
  -key "$TMP/wrong.key" -subj "/CN=wrong.example" -extensions v3_wrong -out "$TMP/wrong.pem"

chmod 600 "$TMP"/*.key
chmod 644 "$TMP"/*.pem
for f in "${FILES[@]}"; do mv -f "$TMP/$f" "$OUT/$f"; done
up_to_date || fail "generated files in $OUT do not verify"
