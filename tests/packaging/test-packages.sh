#!/usr/bin/env bash
# Suite `packaging`: builds the Debian packages with scripts/package (from a
# copy of the source; the work tree and ./build are untouched), unpacks them
# into a scratch root with `dpkg -x`, and runs what a user runs from there:
# gst-inspect-1.0 on the packaged plugins (and only those: a fresh registry,
# no GST_PLUGIN_PATH) and twilio-realtime-server --help.
#   tests/packaging/test-packages.sh SOURCE_ROOT
set -uo pipefail
src=${1:?usage: test-packages.sh SOURCE_ROOT}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gtr-packaging-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0

fail () { echo "not ok - $*"; failures=$((failures + 1)); }
pass () { echo "ok - $*"; }
# expect_line WHAT FILE REGEX: FILE has a line matching REGEX (grep -E).
expect_line () {
  if grep -Eq -- "$3" "$2"; then pass "$1"; else fail "$1: no line matching /$3/ in:"; sed 's/^/#   /' "$2" | head -n 40; fi
}
# run WHAT OUTFILE CMD…: CMD exits 0, its stdout+stderr in OUTFILE.
run () {
  local what=$1 outfile=$2 rc=0; shift 2
  "$@" >"$outfile" 2>&1 || rc=$?
  if [ "$rc" = 0 ]; then pass "$what exits 0"; else fail "$what exits $rc:"; sed 's/^/#   /' "$outfile" | tail -n 40; fi
}

version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$src/meson.build" | head -n1)
run "scripts/package" "$tmp/package.log" "$src/scripts/package" "$tmp/debs"
[ "$failures" = 0 ] || { echo "# the package build failed; nothing to install"; exit 1; }

arch=$(dpkg --print-architecture)
root=$tmp/root
mkdir "$root"
for p in gstreamer1.0-twilio-realtime twilio-realtime-server twilio-realtime-tools; do
  deb=$tmp/debs/${p}_${version}_${arch}.deb
  if [ -f "$deb" ]; then pass "$p $version built"; dpkg -x "$deb" "$root"; else fail "$p: no $deb (have: $(ls "$tmp/debs"))"; fi
done

plugins=$root/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/gstreamer-1.0
dpkg-deb -f "$tmp/debs/gstreamer1.0-twilio-realtime_${version}_${arch}.deb" Depends >"$tmp/plugin-depends" 2>&1
expect_line "the plugins depend on glib-networking (TLS for wss://)" "$tmp/plugin-depends" '(^|, )glib-networking(,|$| )'

# Only the packaged plugins: the system path names the scratch root alone,
# GST_PLUGIN_PATH (which the test environment may point at build/) is unset.
inspect () {
  env -u GST_PLUGIN_PATH -u GST_PLUGIN_PATH_1_0 GST_PLUGIN_SYSTEM_PATH_1_0="$plugins" \
    GST_REGISTRY_1_0="$tmp/registry.bin" GST_REGISTRY_FORK=no gst-inspect-1.0 "$@"
}
run "gst-inspect-1.0 openairealtime" "$tmp/inspect-openai" inspect openairealtime
expect_line "openairealtime is the packaged element" "$tmp/inspect-openai" '^ +Long-name +OpenAI Realtime session$'
expect_line "openairealtime loads from the packaged plugin" "$tmp/inspect-openai" "^ +Filename +$plugins/libgstopenai\.so$"
expect_line "openairealtime reports version $version" "$tmp/inspect-openai" "^ +Version +$version$"
run "gst-inspect-1.0 twiliosrc" "$tmp/inspect-twilio" inspect twiliosrc
expect_line "twiliosrc loads from the packaged plugin" "$tmp/inspect-twilio" "^ +Filename +$plugins/libgsttwilio\.so$"

run "twilio-realtime-server --help" "$tmp/server-help" "$root/usr/bin/twilio-realtime-server" --help
expect_line "the server prints its usage" "$tmp/server-help" '^ +twilio-realtime-server .* - the multi-call host'
for tool in twilio-call-sim realtime-mock; do
  run "$tool --help" "$tmp/$tool-help" "$root/usr/bin/$tool" --help
  expect_line "$tool prints its usage" "$tmp/$tool-help" "^ +$tool "
done
# Each program has a manual page, made from its --help at build time.
# NAME is the summary of the usage line (help2man's default would be
# "manual page for …").
while read -r prog summary; do
  zcat "$root/usr/share/man/man1/$prog.1.gz" >"$tmp/$prog.1" 2>&1
  expect_line "man $prog: $summary" "$tmp/$prog.1" "^$prog \\\\?- $summary"
done <<'LIST'
twilio-realtime-server the multi-call host
twilio-call-sim a local Twilio
realtime-mock a local OpenAI Realtime API
LIST

# The unit is shipped as written, and installing the package does not start
# or enable it (README.Debian: secrets and the agent file come first).
unit=$root/lib/systemd/system/twilio-realtime-server.service
if cmp -s "$unit" "$src/src/server/twilio-realtime-server.service"; then
  pass "the systemd unit is src/server's"; else fail "the packaged unit differs from src/server/twilio-realtime-server.service (or is missing)"; fi
dpkg-deb -e "$tmp/debs/twilio-realtime-server_${version}_${arch}.deb" "$tmp/server-control"
if grep -q 'deb-systemd-invoke' "$tmp/server-control/postinst"; then
  fail "postinst starts the service"; else pass "postinst does not start the service"; fi
# The only enable debhelper may write is the one that restores a unit the
# admin had enabled before (an upgrade): it follows a was-enabled check.
if awk '/was-enabled/ { guarded = 1 } /deb-systemd-helper enable/ && !guarded { bad = 1 } END { exit bad }' \
    "$tmp/server-control/postinst"; then
  pass "postinst enables the unit only if it was enabled"; else fail "postinst enables the unit on a fresh install"; fi

[ "$failures" = 0 ] && echo "# all passed" || echo "# $failures failed"
[ "$failures" = 0 ]
