# Shared by scripts/demo, scripts/test and .ci/run: the Debian packages the
# project needs, and a build in ./build.  Sourced, not run.

GTR_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Build: compilers, meson, the libraries.  Run time: glib-networking (wss;
# without it libsoup says "TLS support is not available"), GStreamer's base
# and good plugins (μ-law, A-law, WAV, audioconvert/resample), gst-launch.
# Tests and demo: python3-jsonschema (schema checks), espeak-ng (the demo's
# caller speaks), clang + libclang-rt (libFuzzer, sanitizers), dpkg-dev +
# debhelper + help2man + lintian (scripts/package and the packaging suite).
# Benchmark: nodejs + node-ws (the Node.js reference bridge, tests/bench),
# python3-matplotlib (its plot, docs/performance.png).
GTR_DEBS=(
  meson ninja-build pkg-config gcc clang libclang-rt-14-dev
  libglib2.0-dev libjson-glib-dev libsoup-3.0-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  glib-networking gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  python3 python3-jsonschema python3-prometheus-client espeak-ng
  dpkg-dev debhelper help2man lintian
  nodejs node-ws python3-matplotlib
  # docs/examples/embed-*.py (suite embedding): PyGObject, GStreamer's and libsoup 3's GIR
  python3-gi gir1.2-gstreamer-1.0 gir1.2-soup-3.0
)

gtr_missing_debs () {
  local p
  for p in "${GTR_DEBS[@]}"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
  done
}

# Install what is missing when root; otherwise print the one apt-get line
# needed and fail.  Idempotent: does nothing when all is there.
gtr_ensure_debs () {
  local missing
  missing=$(gtr_missing_debs | tr '\n' ' ')
  [ -z "${missing// /}" ] && return 0
  if [ "$(id -u)" = 0 ]; then
    echo "installing: $missing" >&2
    apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2 ||
      { echo "apt-get install failed" >&2; exit 1; }
  else
    echo "missing Debian packages; run:" >&2
    echo "  sudo apt-get install -y --no-install-recommends $missing" >&2
    exit 1
  fi
}

# Configure (once) and build ./build (or $1).  Extra args go to meson setup.
gtr_build () {
  local dir=${1:-$GTR_ROOT/build}; shift || true
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$GTR_ROOT" "$@" >&2 || exit 1
  fi
  meson compile -C "$dir" >&2 || exit 1
}
