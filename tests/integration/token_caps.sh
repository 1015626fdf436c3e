#!/usr/bin/env bash
# Tokens with other capabilities than SoftHSM2's, played by p11fault.so
# (tests/fault) in front of SoftHSM2, each ceremony on a fresh token:
#   - a key type the token cannot make (rsa-4096 where the RSA key pair
#     mechanism stops at 3072 bits; EC without CKM_EC_KEY_PAIR_GEN) is
#     refused before anything is generated, exit 5;
#   - a key the token makes weaker than asked (CKA_DECRYPT=TRUE) is refused
#     and destroyed; when the token will not destroy it, the console names
#     the object and the pkcs11-tool command, and that command removes it;
#   - a ceremony that fails after key generation destroys the pairs it made,
#     and says so on the console, in the transcript and in the audit log;
#   - a token that rejects CKA_COPYABLE (NSS softoken) gets the template
#     again without it, and the transcript says so;
#   - a module that needs an init string gets it from --module-args or the
#     config's [token] module_args, which later commands reuse;
#   - an RSA root on a token without CKM_RSA_PKCS (tpm2-pkcs11 cannot sign a
#     DigestInfo) signs with CKM_SHA*_RSA_PKCS.
# After every refusal pkcs11-tool (OpenSC, independent) lists the token:
# nothing may be left on it.
source "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"
FAULT="$MESHROOT_BIN/tests/fault/p11fault.so"
[ -f "$FAULT" ] || fail "missing $FAULT"
command -v pkcs11-tool >/dev/null || skip "pkcs11-tool (opensc) is not installed"
SOFTHSM=/usr/lib/softhsm/libsofthsm2.so
export P11FAULT_MODULE=$SOFTHSM

fresh() {
  rm -rf "$T/state" "$T/tokens" "$T/ceremony.out"
  mkdir -p "$T/tokens"
  softhsm2-util --init-token --free --label meshroot-test --pin 1234 --so-pin 5678 >/dev/null
}
# conf KEY_TYPE [EXTRA_LINE]: a ceremony config in $T/c.conf
conf() {
  "$APPLIANCE" ceremony template | sed "s/^key_type = .*/key_type = $1/" >"$T/c.conf"
  if [ -n "${2:-}" ]; then
    sed -i "s|^module_args =.*|$2|" "$T/c.conf"
  fi
}
objects() {
  pkcs11-tool --module "$SOFTHSM" --token-label meshroot-test --login --pin 1234 \
    --list-objects 2>/dev/null | grep -c 'Object;' || true
}
token_empty() {
  local n
  n=$(objects)
  [ "$n" -eq 0 ] || {
    pkcs11-tool --module "$SOFTHSM" --token-label meshroot-test --login --pin 1234 --list-objects
    fail "$1: $n objects left on the token"
  }
}
faulty() { app --module "$FAULT" "$@"; }

# 1. rsa-4096 on a token whose RSA key pair mechanism stops at 3072 bits.
fresh; conf rsa-4096
P11FAULT_RSA_MAXBITS=3072 expect_fail 5 \
  "^error: root key: the token cannot make rsa-4096 keys: CKM_RSA_PKCS_KEY_PAIR_GEN allows [0-9]* to 3072 bits$" \
  faulty ceremony init --config "$T/c.conf" --yes
grep -q 'generating the root key' "$T/expect.out" && fail "rsa-4096: generation was attempted"
token_empty "rsa-4096 refused"
[ ! -e "$T/state/root-cert.pem" ] || fail "rsa-4096: a root was written"

# 2. EC on a token without CKM_EC_KEY_PAIR_GEN (0x1040).
fresh; conf ec-p384
P11FAULT_NO_MECH=1040 expect_fail 5 \
  "^error: root key: the token cannot make ec-p384 keys: it has no CKM_EC_KEY_PAIR_GEN$" \
  faulty ceremony init --config "$T/c.conf" --yes
token_empty "EC refused"

# 3. A key weaker than asked: refused, destroyed, named by its attribute.
fresh; conf ec-p384
P11FAULT_WEAKEN=decrypt expect_fail 5 \
  "^error: refused and destroyed: key 'meshroot-root' is weaker than asked: CKA_DECRYPT is TRUE, not FALSE$" \
  faulty ceremony init --config "$T/c.conf" --yes
token_empty "weak key"
P11FAULT_WEAKEN=extractable expect_fail 5 \
  "key 'meshroot-root' is weaker than asked: CKA_EXTRACTABLE is TRUE, not FALSE$" \
  faulty ceremony init --config "$T/c.conf" --yes
token_empty "extractable key"

# 3b. ... and the token will not destroy it: the exact objects and command.
fresh; conf ec-p384
P11FAULT_WEAKEN=decrypt P11FAULT_AT=C_DestroyObject:1 P11FAULT_DO=CKR_DEVICE_ERROR expect_fail 5 \
  "^error: refused, NOT destroyed (C_DestroyObject: CKR_DEVICE_ERROR): key 'meshroot-root' is weaker than asked" \
  faulty ceremony init --config "$T/c.conf" --yes
grep -q '^ceremony: remove these objects from the token by hand:$' "$T/expect.out" \
  || fail "no removal instructions"
cmd=$(sed -n "s/^  private key label 'meshroot-root' id [0-9a-f]\{32\}: \(pkcs11-tool .*--delete-object --type privkey --id [0-9a-f]\{32\}\)$/\1/p" "$T/expect.out")
[ -n "$cmd" ] || { cat "$T/expect.out"; fail "no pkcs11-tool command for the private key"; }
[ "$(objects)" -eq 1 ] || fail "expected exactly the private key left, found $(objects) objects"
grep -q "remove by hand\|objects left on the token" "$T"/state/transcript* 2>/dev/null \
  || grep -rq "objects left on the token" "$T/state" || fail "the transcript does not list the leftover"
# It names the module the appliance loaded; p11fault.so forwards to SoftHSM2,
# which is run here directly (an ASan build's p11fault.so cannot be loaded
# into pkcs11-tool).
case "$cmd" in "pkcs11-tool --module $FAULT "*) ;; *) fail "the command names another module: $cmd" ;; esac
cmd=${cmd/--module $FAULT /--module $SOFTHSM }
eval "$cmd --pin 1234" >/dev/null 2>&1 || fail "the printed command failed: $cmd"
token_empty "after the printed command"

# 4. A ceremony that fails after the root key was made (the audit key's
# generation fails): the root pair is destroyed, and that is recorded.
fresh; conf ec-p384
P11FAULT_AT=C_GenerateKeyPair:2 P11FAULT_DO=CKR_DEVICE_ERROR expect_fail 5 \
  "^error: audit key: C_GenerateKeyPair: CKR_DEVICE_ERROR$" \
  faulty ceremony init --config "$T/c.conf" --yes
grep -q "^ceremony: cleanup: root key pair 'meshroot-root' destroyed$" "$T/expect.out" \
  || fail "the cleanup is not on the console"
token_empty "failed ceremony"
grep -q '"ceremony-cleanup"' "$T/state/audit.log" || grep -q 'ceremony-cleanup' "$T/state/audit.log" \
  || fail "no ceremony-cleanup record in the audit log"
grep -rq "cleanup: root key pair 'meshroot-root' destroyed" "$T/state" \
  || fail "the cleanup is not in the transcript"

# 4b. Failing later (the root certificate's C_Sign): both pairs go.
fresh; conf ec-p384
nsign=1
P11FAULT_AT=C_Sign:$nsign P11FAULT_DO=CKR_DEVICE_ERROR expect_fail 5 \
  "C_Sign: CKR_DEVICE_ERROR" faulty ceremony init --config "$T/c.conf" --yes
grep -q "^ceremony: cleanup: audit key pair 'meshroot-audit' destroyed$" "$T/expect.out" \
  || fail "the audit key is not cleaned up"
grep -q "^ceremony: cleanup: root key pair 'meshroot-root' destroyed$" "$T/expect.out" \
  || fail "the root key is not cleaned up"
token_empty "failed signing"

# 5. A token that rejects CKA_COPYABLE with CKR_GENERAL_ERROR (NSS).
fresh; conf ec-p384
P11FAULT_NO_COPYABLE=1 faulty ceremony init --config "$T/c.conf" --yes >"$T/ceremony.out" 2>&1 \
  || { cat "$T/ceremony.out"; fail "ceremony without CKA_COPYABLE failed"; }
grep -q "^ceremony: the token refused the optional attributes CKA_COPYABLE of the root key" \
  "$T/ceremony.out" || { cat "$T/ceremony.out"; fail "the retry is not reported"; }
grep -rq "refused the optional attributes CKA_COPYABLE of the root key" "$T/state" \
  || fail "the retry is not in the transcript"
grep -q 'keygen-template-reduced' "$T/state/audit.log" || fail "the retry is not audited"
openssl x509 -in "$T/state/root-cert.pem" -noout || fail "no root certificate"

# 5b. A rotation that fails after making the new key destroys it.
expect_fail 5 "^error: C_Sign: CKR_DEVICE_ERROR$" \
  env P11FAULT_AT=C_Sign:1 P11FAULT_DO=CKR_DEVICE_ERROR \
  "$APPLIANCE" --state "$T/state" --token meshroot-test --pin-file "$T/user.pin" --module "$FAULT" \
  ceremony rotate --key-label meshroot-root-2 --yes
grep -q "^rotate: cleanup: new root key pair 'meshroot-root-2' destroyed$" "$T/expect.out" \
  || fail "the rotation's new key is not cleaned up"
[ "$(objects)" -eq 4 ] || fail "after the failed rotation: $(objects) objects, want the 4 of the ceremony"

# 5c. A token that will not give a window's serials in one draw (cards
# cap C_GenerateRandom): the window asks for each serial on its own.
"$MESHROOT_BIN/tests/fleet_fixture" requests "$T/ws" 3 >/dev/null || fail "rng: fixture"
host media export --to "$T/m" >/dev/null 2>&1 || fail "rng: media export"
P11FAULT_TRACE="$T/rng.trace" P11FAULT_AT=C_GenerateRandom:1 P11FAULT_DO=CKR_DEVICE_ERROR \
  faulty sign --media "$T/m" --yes >"$T/rng.out" 2>&1 || { tail -3 "$T/rng.out"; fail "rng: sign"; }
grep -qx "summary: 3 signed, 0 answered from earlier runs, 0 refused, 0 skipped" "$T/rng.out" \
  || { tail -2 "$T/rng.out"; fail "rng: not every request signed"; }
grep -q " C_GenerateRandom injected$" "$T/rng.trace" || fail "rng: the window's draw was not refused"
[ "$(grep -c ' C_GenerateRandom$' "$T/rng.trace")" = 3 ] \
  || fail "rng: $(grep -c ' C_GenerateRandom$' "$T/rng.trace") draws after the refusal, want one a serial"
[ "$(grep '^op=issue ' "$T/state/issued.db" | grep -o 'serial=[0-9a-f]*' | sort -u | wc -l)" = 3 ] \
  || fail "rng: 3 distinct serials expected"

# 6. A module that needs its init string.
fresh; conf ec-p256
args="configdir='sql:$T/nss' certPrefix='' keyPrefix='' secmod='secmod.db' flags="
export P11FAULT_INIT_ARGS="$args"
expect_fail 5 "^error: C_Initialize: CKR_ARGUMENTS_BAD (does the module need its init string? give it with --module-args)$" \
  faulty ceremony init --config "$T/c.conf" --yes
app --module "$FAULT" --module-args "$args" ceremony init --config "$T/c.conf" --yes \
  >"$T/ceremony.out" 2>&1 || { cat "$T/ceremony.out"; fail "ceremony with --module-args failed"; }
fresh; conf ec-p256 "module_args = $args"
faulty ceremony init --config "$T/c.conf" --yes >"$T/ceremony.out" 2>&1 \
  || { cat "$T/ceremony.out"; fail "ceremony with [token] module_args failed"; }
# Remembered: a later command opens the token with the config's string.
faulty crl >"$T/crl.out" 2>&1 || { cat "$T/crl.out"; fail "crl did not reuse module_args"; }
unset P11FAULT_INIT_ARGS

# 7. RSA without CKM_RSA_PKCS (0x1): hash-and-sign, verified by openssl.
fresh; conf rsa-3072
P11FAULT_NO_MECH=1 faulty ceremony init --config "$T/c.conf" --yes >"$T/ceremony.out" 2>&1 \
  || { cat "$T/ceremony.out"; fail "rsa-3072 with hash-and-sign only failed"; }
openssl verify -CAfile "$T/state/root-cert.pem" "$T/state/root-cert.pem" >/dev/null \
  || fail "the hash-and-sign root does not verify"
P11FAULT_NO_MECH=1 faulty crl >"$T/crl.out" 2>&1 || { cat "$T/crl.out"; fail "rsa crl failed"; }

echo "PASS: refusals before generation, weak keys destroyed, cleanup, CKA_COPYABLE retry," \
  "module init string, RSA hash-and-sign"
