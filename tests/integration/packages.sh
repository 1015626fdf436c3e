#!/usr/bin/env bash
# The Debian packages: cpack builds meshroot and meshroot-appliance from
# this build dir; their control fields, dependencies and contents are
# checked; both are unpacked into a scratch root (dpkg -x: no root, the
# system's /usr untouched) and the INSTALLED binaries run a short round
# trip: ceremony, cluster new, media export, sign, media import, bundle,
# verify. Man pages and completions are checked when the tree has them.
# shellcheck source=lib/appliance_env.sh
. "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"

# Packages are made from a normal build; a sanitizer build is not one to
# ship, and its round trip is e2e_media's (cpack's rebuild check and the
# instrumented binaries would cost a minute more of the CI's budget).
[ "${MESHROOT_SANITIZE:-OFF}" != ON ] || skip "a sanitizer build: packages are made from a normal build"
for tool in cpack dpkg-deb dpkg-shlibdeps dpkg-query; do
	command -v "$tool" >/dev/null || skip "no $tool here: cannot build or read Debian packages"
done
[ -f "$MESHROOT_BIN/CPackConfig.cmake" ] || fail "no CPackConfig.cmake in $MESHROOT_BIN"

# The packages, made in a directory of the test's own (cpack's staging too).
(cd "$MESHROOT_BIN" && cpack -G DEB -B "$T/pkg" >"$T/cpack.out" 2>&1) ||
	fail "cpack failed: $(tail -20 "$T/cpack.out")"
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:[A-Z]*=//p' "$MESHROOT_BIN/CMakeCache.txt")
[ -n "$version" ] || fail "no project version in CMakeCache.txt"
arch=$(dpkg --print-architecture)
declare -A deb=([meshroot]="$T/pkg/meshroot_${version}-1_$arch.deb"
	[meshroot-appliance]="$T/pkg/meshroot-appliance_${version}-1_$arch.deb")
for p in "${!deb[@]}"; do
	[ -s "${deb[$p]}" ] || fail "cpack made no ${deb[$p]##*/}: $(ls "$T/pkg")"
done

# field PKG NAME: one control field.
field() { dpkg-deb -f "${deb[$1]}" "$2"; }
for p in "${!deb[@]}"; do
	[ "$(field "$p" Package)" = "$p" ] || fail "$p: Package is '$(field "$p" Package)'"
	[ "$(field "$p" Version)" = "$version-1" ] || fail "$p: Version '$(field "$p" Version)', want $version-1"
	[ "$(field "$p" Section)" = admin ] || fail "$p: Section '$(field "$p" Section)', want admin"
	[ "$(field "$p" Architecture)" = "$arch" ] || fail "$p: Architecture '$(field "$p" Architecture)'"
	[[ $(field "$p" Maintainer) =~ ^[^\<]+\ \<[^@\>]+@[^\>]+\>$ ]] ||
		fail "$p: Maintainer '$(field "$p" Maintainer)' is not 'Name <address>'"
	[ "$(field "$p" Description | wc -l)" -ge 3 ] || fail "$p: no long description"
	# Every dependency is a package of this system, installed (dpkg-shlibdeps
	# found each library there), and wolfSSL is one of them.
	depends=$(field "$p" Depends)
	grep -qE '(^|, )libwolfssl[0-9]+ ' <<<"$depends" || fail "$p: Depends lacks libwolfssl: $depends"
	for d in $(tr ',' '\n' <<<"$depends" | sed 's/(.*)//; s/|.*//; s/ //g'); do
		[ "$(dpkg-query -W -f='${Status}' "$d" 2>/dev/null)" = "install ok installed" ] ||
			fail "$p: Depends on $d, which is not an installed package here"
	done
	dpkg-deb -c "${deb[$p]}" | awk '{print $6}' | sed 's|^\./|/|' | grep -v '/$' | sort >"$T/files.$p"
done
grep -qE '(^|, )libusb-1\.0-0 ' <<<"$(field meshroot Depends)" ||
	fail "meshroot: Depends lacks libusb-1.0-0: $(field meshroot Depends)"
! grep -q libusb <<<"$(field meshroot-appliance Depends)" ||
	fail "meshroot-appliance depends on libusb (the host's library)"
# Loaded for a PKCS#11 URI (dlopen), not linked: named by hand.
grep -qE '(^|, )libp11-kit0( |,|$)' <<<"$(field meshroot-appliance Depends)" ||
	fail "meshroot-appliance: Depends lacks libp11-kit0: $(field meshroot-appliance Depends)"

# What each package holds, and that no file is in both (dpkg would refuse
# to install the second).
want_host=(/usr/bin/meshroot /usr/lib/udev/rules.d/99-meshroot.rules)
want_app=(/usr/bin/meshroot-appliance /usr/lib/systemd/system/meshroot-appliance.service
	/usr/libexec/meshroot/meshroot-gadget.sh /usr/lib/udev/rules.d/99-meshroot-button.rules
	/usr/share/doc/meshroot-appliance/appliance.env.example)
for f in "${want_host[@]}"; do grep -qx "$f" "$T/files.meshroot" || fail "meshroot lacks $f"; done
for f in "${want_app[@]}"; do grep -qx "$f" "$T/files.meshroot-appliance" || fail "meshroot-appliance lacks $f"; done
grep -qx /usr/bin/meshroot-appliance "$T/files.meshroot" && fail "meshroot holds the appliance"
grep -qx /usr/bin/meshroot "$T/files.meshroot-appliance" && fail "meshroot-appliance holds the host tool"
both=$(comm -12 "$T/files.meshroot" "$T/files.meshroot-appliance")
[ -z "$both" ] || fail "files in both packages: $both"

# Man pages and completions: every one in the tree is in exactly one package.
all_files=$(cat "$T/files.meshroot" "$T/files.meshroot-appliance")
shopt -s nullglob
pages=("$MESHROOT_SRC"/man/*.[1-8])
if [ "${#pages[@]}" -eq 0 ]; then
	echo "note: no man pages in man/: their package check is left out"
else
	for m in "${pages[@]}"; do
		n=${m##*/}
		grep -qx "/usr/share/man/man${n##*.}/$n" <<<"$all_files" || fail "no package holds man page $n"
	done
	grep -q '^/usr/share/man/man1/' "$T/files.meshroot" || fail "meshroot holds no section 1 page"
	grep -q '^/usr/share/man/man8/' "$T/files.meshroot-appliance" || fail "meshroot-appliance holds no section 8 page"
fi
comps=("$MESHROOT_SRC"/completions/*.bash "$MESHROOT_SRC"/completions/bash/*)
if [ "${#comps[@]}" -eq 0 ]; then
	echo "note: no bash completions in completions/: their package check is left out"
else
	grep -qx /usr/share/bash-completion/completions/meshroot "$T/files.meshroot" ||
		fail "meshroot lacks its bash completion (share/bash-completion/completions/meshroot)"
fi
comps=("$MESHROOT_SRC"/completions/_* "$MESHROOT_SRC"/completions/zsh/_*)
if [ "${#comps[@]}" -eq 0 ]; then
	echo "note: no zsh completions in completions/: their package check is left out"
else
	grep -qx /usr/share/zsh/vendor-completions/_meshroot "$T/files.meshroot" ||
		fail "meshroot lacks its zsh completion (share/zsh/vendor-completions/_meshroot)"
fi
shopt -u nullglob

# Unpacked into the scratch root, as dpkg would lay them out.
R="$T/root"
for p in "${!deb[@]}"; do dpkg-deb -x "${deb[$p]}" "$R" || fail "dpkg-deb -x $p"; done
APPLIANCE="$R/usr/bin/meshroot-appliance"
HOST="$R/usr/bin/meshroot"
for b in "$APPLIANCE" "$HOST"; do
	[ -x "$b" ] || fail "${b#"$R"} not executable"
	[ "$("$b" --version)" = "${b##*/} $version" ] || fail "${b#"$R"} --version: $("$b" --version)"
done
# The unit starts what the package installs, at the path it installs it.
unit="$R/usr/lib/systemd/system/meshroot-appliance.service"
grep -q '^ExecStart=/usr/bin/meshroot-appliance serve --usb ' "$unit" || fail "unit: $(grep ExecStart= "$unit")"
grep -qx 'ExecStartPre=+/usr/libexec/meshroot/meshroot-gadget.sh start' "$unit" ||
	fail "unit: $(grep ExecStartPre= "$unit")"
grep -qx 'ReadWritePaths=/var/lib/meshroot' "$unit" || fail "unit: the state dir is not writable"
grep -qx 'ProtectSystem=strict' "$unit" || fail "unit: ProtectSystem is not strict"
[ -x "$R/usr/libexec/meshroot/meshroot-gadget.sh" ] || fail "the gadget script is not executable"
expect_fail 2 '^usage: .*meshroot-gadget.sh start|bind|stop' "$R/usr/libexec/meshroot/meshroot-gadget.sh"

# The installed binaries through a short round trip (app and host of
# lib/appliance_env.sh run $APPLIANCE and $HOST).
ceremony
host cluster new east --key ec-p256 >"$T/new.out" || fail "cluster new: $(cat "$T/new.out")"
host media export --to "$T/media" >"$T/export.out" || fail "media export: $(cat "$T/export.out")"
app sign --media "$T/media" --yes >"$T/sign.out" || fail "sign: $(cat "$T/sign.out")"
grep -q '^summary: 1 signed,' "$T/sign.out" || fail "sign: $(grep summary "$T/sign.out")"
host media import --from "$T/media" >"$T/import.out" || fail "media import: $(cat "$T/import.out")"
grep -q '^1 certificate(s) imported$' "$T/import.out" || fail "media import: $(tail -1 "$T/import.out")"
host bundle east --out "$T/out" >"$T/bundle.out" || fail "bundle: $(cat "$T/bundle.out")"
host verify "$T/out/east" >"$T/verify.out" 2>&1 || fail "verify: $(cat "$T/verify.out")"
cmp -s "$T/out/east/root-cert.pem" "$T/state/root-cert.pem" || fail "the bundle's root is not the appliance's"
openssl verify -CAfile "$T/out/east/root-cert.pem" "$T/out/east/ca-cert.pem" >"$T/ossl.out" 2>&1 ||
	fail "openssl verify: $(cat "$T/ossl.out")"
echo "PASS"
