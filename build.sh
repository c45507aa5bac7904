#!/usr/bin/env bash
# Build and test everything in this repository.
#
#   ./build.sh [build]   release build of all libraries (default)
#   ./build.sh demo      AI tokens from a producer to a reader that loses its connection midway
#                        and resumes from its saved offset (starts and stops a local server)
#   ./build.sh test      format check, clippy, test servers, all tests
#   ./build.sh test-c    only the C ABI tests (tests/c; needs the servers installed)
#   ./build.sh test-dotnet  only the .NET tests (bindings-dotnet; needs the servers installed)
#   ./build.sh test-s2   only the S2 tests, inside a network namespace of their own (s2 lite
#                        listens on 0.0.0.0): unshare -n (root) or -rn, then ip link set lo up
#   ./build.sh servers   install the real test servers (cached per version outside the checkout)
#   ./build.sh pack      the NuGet packages, in bindings-dotnet/artifacts/packages
#   ./build.sh bench     benchmarks vs the TypeScript client on Electric's server (memory mode);
#                        table, bench/results/latest.json and latest.svg (bench/README.md);
#                        then bench-s2
#   ./build.sh bench-s2  only the S2 benchmarks (s2-sdk, C ABI, .NET, S2's TypeScript SDK on one
#                        s2 lite in a network namespace): bench/results/s2-latest.{json,md}
#   ./build.sh adapter   the .NET conformance adapter; prints the executable to start (last line)
#
# Environment: DS_TEST_SERVERS_DIR, DS_ELECTRIC_SERVER_BIN, DS_NODE_SERVER_DIR, S2_LITE_BIN are
# honoured the same way as by the Rust test harness (tests/harness).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
ROOT=$(pwd)

# Keep in sync with tests/harness/src/install.rs.
ELECTRIC_CRATE_VERSION=0.1.5
NODE_PACKAGE=@durable-streams/server
NODE_PACKAGE_VERSION=0.3.7
S2_CLI_CRATE_VERSION=0.43.4 # s2-cli, whose `s2 lite` is the S2 test server
# Shared by every clone on the machine, one folder per server and version.
SERVERS_DIR=${DS_TEST_SERVERS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/durable-streams-native/test-servers}
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ROOT/Cargo.toml" | head -n 1)

section() {
  printf '\n==== %s ====\n' "$*"
}

die() {
  printf 'build.sh: %s\n' "$*" >&2
  exit 1
}

need() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' is required but not on PATH"
}

# Machines without a crate registry carry an offline crate set beside the checkout; point cargo
# at it once (it writes a source replacement into cargo's own config). Elsewhere nothing happens.
use_offline_crates() {
  local enable="$ROOT/../shared/cargo-vendor/enable.sh"
  local config="${CARGO_HOME:-$HOME/.cargo}/config.toml"
  [ -f "$enable" ] || return 0
  if [ -f "$config" ] && grep -q '# >>> shared cargo-vendor >>>' "$config"; then
    return 0
  fi
  echo "build.sh: using the offline crate set ($enable)"
  bash "$enable" >/dev/null
}

# ---------------------------------------------------------------- build steps

# The release libraries: the core and the C library (libdurable_streams.{so,a}). Every release
# build below selects the same features, so none of them compiles the HTTP stack again.
build_rust() {
  section "Rust: release build (cargo build --release -p durable-streams-ffi)"
  cargo build --release -p durable-streams-ffi
  write_pkgconfig
}

# target/release/pkgconfig/durable_streams.pc from ffi/durable-streams/durable_streams.pc.in,
# pointing at this checkout's include/ and target/release/.
write_pkgconfig() {
  local dir="$ROOT/target/release/pkgconfig"
  mkdir -p "$dir"
  sed -e "s|@PREFIX@|$ROOT|g" -e "s|@LIBDIR@|$ROOT/target/release|g" -e "s|@VERSION@|$VERSION|g" \
    "$ROOT/ffi/durable-streams/durable_streams.pc.in" >"$dir/durable_streams.pc"
  PKG_CONFIG_PATH="$dir" pkg-config --exists durable_streams ||
    die "pkg-config cannot read $dir/durable_streams.pc"
  echo "wrote $dir/durable_streams.pc"
  write_s2_pkgconfig
}

# target/release/pkgconfig/s2_streamstore.pc from ffi/s2/s2_streamstore.pc.in, the same way.
write_s2_pkgconfig() {
  local dir="$ROOT/target/release/pkgconfig"
  mkdir -p "$dir"
  sed -e "s|@PREFIX@|$ROOT|g" -e "s|@LIBDIR@|$ROOT/target/release|g" -e "s|@VERSION@|$VERSION|g" \
    "$ROOT/ffi/s2/s2_streamstore.pc.in" >"$dir/s2_streamstore.pc"
  PKG_CONFIG_PATH="$dir" pkg-config --exists s2_streamstore ||
    die "pkg-config cannot read $dir/s2_streamstore.pc"
  echo "wrote $dir/s2_streamstore.pc"
}

# ---------------------------------------------------------------- test servers

install_electric_server() {
  section "Test server: Electric durable-streams-server $ELECTRIC_CRATE_VERSION"
  if [ -n "${DS_ELECTRIC_SERVER_BIN:-}" ]; then
    [ -x "$DS_ELECTRIC_SERVER_BIN" ] || die "DS_ELECTRIC_SERVER_BIN=$DS_ELECTRIC_SERVER_BIN is not an executable"
    echo "using $DS_ELECTRIC_SERVER_BIN"
    return
  fi
  local root="$SERVERS_DIR/electric-$ELECTRIC_CRATE_VERSION"
  local bin="$root/bin/durable-streams-server"
  if [ -x "$bin" ]; then
    echo "already installed: $bin"
    return
  fi
  echo "building (about 2-3 minutes) into $root"
  # cargo install uses its own temporary target dir unless CARGO_TARGET_DIR is set.
  env -u CARGO_TARGET_DIR cargo install --locked durable-streams \
    --version "$ELECTRIC_CRATE_VERSION" --root "$root"
  [ -x "$bin" ] || die "cargo install finished but $bin is missing"
}

install_node_server() {
  section "Test server: Node $NODE_PACKAGE@$NODE_PACKAGE_VERSION"
  need node
  need npm
  local dir=${DS_NODE_SERVER_DIR:-$SERVERS_DIR/node-$NODE_PACKAGE_VERSION}
  local manifest="$dir/node_modules/$NODE_PACKAGE/package.json"
  local installed=""
  if [ -f "$manifest" ]; then
    installed=$(node -p 'require(process.argv[1]).version' "$manifest" 2>/dev/null || true)
  fi
  if [ "$installed" = "$NODE_PACKAGE_VERSION" ]; then
    echo "already installed: $dir"
    return
  fi
  mkdir -p "$dir"
  # Without a package.json npm would install into the nearest ancestor project.
  if [ ! -f "$dir/package.json" ]; then
    printf '{\n  "name": "ds-test-servers-node",\n  "private": true\n}\n' >"$dir/package.json"
  fi
  (cd "$dir" && npm install --no-audit --no-fund "$NODE_PACKAGE@$NODE_PACKAGE_VERSION")
  # start.mjs is written next to node_modules by the harness when it starts the server.
}

# S2's `s2 lite` (crate s2-cli). Only ever started inside a network namespace of its own: see
# run_isolated and test_s2.
install_s2_server() {
  section "Test server: S2 lite (s2-cli $S2_CLI_CRATE_VERSION)"
  if [ -n "${S2_LITE_BIN:-}" ]; then
    [ -x "$S2_LITE_BIN" ] || die "S2_LITE_BIN=$S2_LITE_BIN is not an executable"
    echo "using $S2_LITE_BIN"
    return
  fi
  local root="$SERVERS_DIR/s2-$S2_CLI_CRATE_VERSION"
  local bin="$root/bin/s2"
  if [ -x "$bin" ]; then
    echo "already installed: $bin"
    return
  fi
  echo "building (about 13-14 minutes) into $root"
  env -u CARGO_TARGET_DIR cargo install --locked s2-cli \
    --version "$S2_CLI_CRATE_VERSION" --root "$root"
  [ -x "$bin" ] || die "cargo install finished but $bin is missing"
}

install_servers() {
  install_electric_server
  install_node_server
  install_s2_server
}

# ---------------------------------------------------------------- test steps

check_format() {
  section "Rust: format check (cargo fmt --all -- --check)"
  cargo fmt --all -- --check
}

lint_rust() {
  section "Rust: clippy (cargo clippy --workspace --all-targets -- -D warnings)"
  cargo clippy --workspace --all-targets -- -D warnings
}

test_rust() {
  section "Rust: tests (cargo test --workspace)"
  cargo test --workspace
}

# The C ABI: release library, header checks (C11 and C++17), C tests against the real servers
# linked both dynamically and statically, the same under valgrind, and the C example.
test_c() {
  need make
  need cc
  need c++
  need pkg-config
  need valgrind
  section "C: release library and server harness"
  cargo build --release -p durable-streams-ffi
  cargo build -p durable-streams-test-harness
  write_pkgconfig
  section "C: build tests, example and header checks (tests/c/Makefile)"
  make -C tests/c all
  section "C: tests"
  make -C tests/c check
  section "C: tests under valgrind"
  make -C tests/c valgrind
  section "C: example against a real server"
  smoke_c_example
}

# ---------------------------------------------------------------- S2 (isolated network namespace)

# The Rust tests of the S2 backend, run with --include-ignored inside the namespace: one
# `cargo test` per entry, entries separated by ';', each entry cargo arguments. Keep `--test s2` in
# an entry of its own: it restricts every package of its entry to the test target named s2.
S2_RUST_TEST_PACKAGES="-p durable-streams-test-harness --test s2;-p s2-streamstore-core --test lite"

# The `ip` that brings loopback up inside the namespace (iproute2; installed with apt-get if
# missing, as .ci/run does for valgrind).
find_ip() {
  local candidate
  for candidate in "$(command -v ip 2>/dev/null || true)" /usr/sbin/ip /sbin/ip; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then
      IP_BIN=$candidate
      return
    fi
  done
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
    apt-get update && apt-get install -y iproute2
    IP_BIN=$(command -v ip 2>/dev/null || true)
    [ -n "$IP_BIN" ] && return
  fi
  die "the S2 tests need 'ip' (package iproute2) to bring loopback up in their network namespace: install iproute2"
}

# run_isolated CMD...: runs CMD in a new network namespace whose only interface, lo, is brought up
# first: s2 lite always listens on 0.0.0.0, so nothing outside this namespace may reach it (and it
# reaches nothing). As root `unshare -n`, otherwise `unshare -rn` (a user namespace that maps us to
# root inside). The environment (PATH, HOME, CARGO_HOME, DOTNET_*) is inherited unchanged; nothing
# inside can reach a registry, so build everything first.
run_isolated() {
  need unshare
  find_ip
  local mode
  if [ "$(id -u)" -eq 0 ] && unshare -n true 2>/dev/null; then
    mode=-n
  elif unshare -rn true 2>/dev/null; then
    mode=-rn
  else
    die "the S2 tests need a network namespace of their own, because s2 lite always listens on 0.0.0.0 (every interface) and must not be reachable from this machine's network; but neither 'unshare -n' (as root) nor 'unshare -rn' (unprivileged user namespaces) works here. Run as root, or allow unprivileged user namespaces (sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone)"
  fi
  unshare "$mode" -- bash -c '"$1" link set lo up && shift && exec "$@"' run_isolated "$IP_BIN" "$@"
}

# The S2 tests: everything is built here, outside the namespace, then the tests run inside one
# (./build.sh test-s2-isolated, through run_isolated).
test_s2() {
  install_s2_server
  section "S2: build the tests outside the namespace"
  local entry
  local -a entries
  IFS=';' read -r -a entries <<<"$S2_RUST_TEST_PACKAGES"
  for entry in "${entries[@]}"; do
    [ -n "${entry// /}" ] || continue
    # shellcheck disable=SC2086 # an entry is a list of cargo arguments
    cargo test --no-run $entry
  done
  cargo build -p durable-streams-test-harness
  build_s2_c
  build_s2_dotnet
  section "S2: tests in a network namespace of their own (unshare, ip link set lo up)"
  run_isolated "$ROOT/build.sh" test-s2-isolated
}

# require_isolated COMMAND: dies unless this is a network namespace whose only interface is lo
# (the one run_isolated makes).
require_isolated() {
  local interfaces
  interfaces=$(awk -F: 'NR > 2 { gsub(/ /, "", $1); print $1 }' /proc/self/net/dev | tr '\n' ' ')
  [ "$interfaces" = "lo " ] ||
    die "$1 runs only inside the network namespace run_isolated makes (interfaces here: ${interfaces% })"
}

# Inside run_isolated's namespace: the Rust tests, then the hook.
test_s2_isolated() {
  local entry
  local -a entries
  require_isolated test-s2-isolated
  IFS=';' read -r -a entries <<<"$S2_RUST_TEST_PACKAGES"
  for entry in "${entries[@]}"; do
    [ -n "${entry// /}" ] || continue
    section "S2: Rust tests (cargo test $entry -- --include-ignored)"
    # shellcheck disable=SC2086 # an entry is a list of cargo arguments
    cargo test $entry -- --include-ignored
  done
  test_s2_isolated_extra
}

# Hook for the C and .NET S2 tests: runs inside the namespace after the Rust tests. Start lite with
# `"$ROOT/target/debug/ds-test-servers" s2` (prints `s2 <account-endpoint> <basin-endpoint>`, then
# READY). Build what the tests need in test_s2, before the namespace: nothing inside reaches a
# registry.
test_s2_isolated_extra() {
  test_s2_c_isolated
  test_s2_dotnet_isolated
}

# The C side of the S2 backend (tests/c, examples/c, pkg-config): built in test_s2, before the
# namespace, run inside it.
build_s2_c() {
  need make
  need cc
  need c++
  need pkg-config
  need valgrind
  section "S2 C: release library (cargo build --release -p s2-streamstore-ffi)"
  cargo build --release -p s2-streamstore-ffi
  write_pkgconfig # durable_streams.pc and s2_streamstore.pc (tests/c/Makefile reads both)
  section "S2 C: build tests, example and header checks (make -C tests/c s2-all)"
  make -C "$ROOT/tests/c" s2-all
}

# Inside the namespace: lite through ds-test-servers (stopped when its stdin closes), its endpoint
# in S2_TEST_ENDPOINT; the C tests, the same under valgrind, then examples/c/s2_example.
test_s2_c_isolated() {
  local line kind endpoint="" basin_endpoint out status=0
  section "S2 C: s2 lite (ds-test-servers s2)"
  coproc S2_C_LITE { "$ROOT/target/debug/ds-test-servers" s2; }
  while IFS= read -r line <&"${S2_C_LITE[0]}"; do
    [ "$line" = READY ] && break
    read -r kind endpoint basin_endpoint <<<"$line"
  done
  [ -n "$endpoint" ] || die "ds-test-servers did not start s2 lite"
  echo "s2 lite at $endpoint"
  export S2_TEST_ENDPOINT=$endpoint
  section "S2 C: tests (make -C tests/c s2-check)"
  make -C "$ROOT/tests/c" s2-check || status=$?
  if [ "$status" -eq 0 ]; then
    section "S2 C: tests under valgrind (make -C tests/c s2-valgrind)"
    make -C "$ROOT/tests/c" s2-valgrind || status=$?
  fi
  if [ "$status" -eq 0 ]; then
    section "S2 C: examples/c/s2_example against lite"
    out=$("$ROOT/target/c-tests/s2_example" "$endpoint") || status=$?
    printf '%s\n' "$out"
    case "$out" in
      *"0: [lang=en] hello"*"2: [lang=pt] ola"*"deleted basin"*) ;;
      *) [ "$status" -ne 0 ] || status=1 ;;
    esac
  fi
  exec {S2_C_LITE[1]}>&- # closing its stdin stops lite
  wait "$S2_C_LITE_PID" || true
  [ "$status" -eq 0 ] || die "the S2 C tests failed (tests/c/test_s2.c, examples/c/s2_example.c)"
  echo "S2 C: ok"
}

# The S2 samples (bindings-dotnet/samples/S2): built in build_s2_dotnet, run against lite in
# test_s2_dotnet_isolated; each ends by itself, deletes its basin, exits non-zero on failure.
S2_DOTNET_SAMPLES="BasicUsage GameStateStreaming AgentSessions"

# The .NET package S2.StreamStore (bindings-dotnet): restored and built in test_s2, before the
# namespace (nothing inside reaches NuGet), tested inside it.
build_s2_dotnet() {
  need dotnet
  section "S2 .NET: release library (cargo build --release -p s2-streamstore-ffi)"
  cargo build --release -p s2-streamstore-ffi
  section "S2 .NET: restore and build (S2.StreamStore, its DI package, S2.StreamStore.Tests)"
  dotnet build "$DOTNET_DIR/tests/S2.StreamStore.Tests/S2.StreamStore.Tests.csproj" -c Release
  dotnet build "$DOTNET_DIR/tests/StreamDingo.S2.Tests/StreamDingo.S2.Tests.csproj" -c Release
  local sample
  for sample in $S2_DOTNET_SAMPLES; do
    section "S2 .NET: build the sample $sample (bindings-dotnet/samples/S2)"
    dotnet build "$DOTNET_DIR/samples/S2/$sample/$sample.csproj" -c Release
  done
  # AotSmokeTests publishes this one with NativeAOT inside the namespace: restore its
  # linux-x64 runtime and ILCompiler packs here, where NuGet is reachable.
  section "S2 .NET: restore the NativeAOT sample (bindings-dotnet/samples/S2/AotSmoke, linux-x64)"
  dotnet restore "$DOTNET_DIR/samples/S2/AotSmoke/S2AotSmoke.csproj" -r linux-x64
}

# Inside the namespace: lite through ds-test-servers (stopped when its stdin closes), its endpoint
# in S2_TEST_ENDPOINT, then the xunit tests, already built (nothing here reaches NuGet).
test_s2_dotnet_isolated() {
  local line kind endpoint="" basin_endpoint status=0
  section "S2 .NET: s2 lite (ds-test-servers s2)"
  coproc S2_DOTNET_LITE { "$ROOT/target/debug/ds-test-servers" s2; }
  while IFS= read -r line <&"${S2_DOTNET_LITE[0]}"; do
    [ "$line" = READY ] && break
    read -r kind endpoint basin_endpoint <<<"$line"
  done
  [ -n "$endpoint" ] || die "ds-test-servers did not start s2 lite"
  echo "s2 lite at $endpoint"
  section "S2 .NET: tests (bindings-dotnet/tests/S2.StreamStore.Tests)"
  S2_TEST_ENDPOINT=$endpoint dotnet test "$DOTNET_DIR/tests/S2.StreamStore.Tests/S2.StreamStore.Tests.csproj" \
    -c Release --no-build || status=$?
  if [ "$status" -eq 0 ]; then
    section "S2 .NET: StreamDingo on S2 (bindings-dotnet/tests/StreamDingo.S2.Tests)"
    S2_TEST_ENDPOINT=$endpoint dotnet test "$DOTNET_DIR/tests/StreamDingo.S2.Tests/StreamDingo.S2.Tests.csproj" \
      -c Release --no-build || status=$?
  fi
  local sample
  for sample in $S2_DOTNET_SAMPLES; do
    [ "$status" -eq 0 ] || break
    section "S2 .NET: sample $sample against lite"
    dotnet "$DOTNET_DIR/samples/S2/$sample/bin/Release/net10.0/$sample.dll" "$endpoint" || status=$?
  done
  exec {S2_DOTNET_LITE[1]}>&- # closing its stdin stops lite
  wait "$S2_DOTNET_LITE_PID" || true
  [ "$status" -eq 0 ] || die "the S2 .NET tests or samples failed (bindings-dotnet/tests/S2.StreamStore.Tests, bindings-dotnet/samples/S2)"
  echo "S2 .NET: ok"
}

# start_server KIND: starts one real server on a free 127.0.0.1 port through ds-test-servers
# (target/debug) and sets SERVER_KIND and SERVER_PREFIX (the stream URL prefix); stop_server
# stops it. The server also stops if this script dies (ds-test-servers watches its stdin).
start_server() {
  local line base
  SERVER_KIND="" SERVER_PREFIX=""
  coproc SERVERS { "$ROOT/target/debug/ds-test-servers" "$1"; }
  while IFS= read -r line <&"${SERVERS[0]}"; do
    [ "$line" = READY ] && break
    read -r SERVER_KIND base SERVER_PREFIX <<<"$line"
  done
  [ -n "$SERVER_PREFIX" ] || die "ds-test-servers did not start a $1 server"
}

stop_server() {
  exec {SERVERS[1]}>&- # closing its stdin stops the servers
  wait "$SERVERS_PID" || true
}

# Creates, appends to and reads back a stream with examples/c/ds_example, then runs the README's
# examples/c/hello.
smoke_c_example() {
  local example="$ROOT/target/c-tests/ds_example" url out
  start_server electric
  url="$SERVER_PREFIX/c-example-$$"
  "$example" create "$url" text/plain
  printf 'first line\nsecond line\n' | "$example" append "$url"
  out=$("$example" cat "$url" 2>/dev/null)
  if [ -x "$ROOT/target/c-tests/hello" ]; then
    "$ROOT/target/c-tests/hello" "$SERVER_PREFIX/c-hello-$$" || {
      stop_server
      die "examples/c/hello failed"
    }
  fi
  stop_server
  [ "$out" = $'first line\nsecond line' ] || die "ds_example read back: $out"
  echo "ds_example: ok ($SERVER_KIND)"
}

# ---------------------------------------------------------------- .NET (bindings-dotnet)

DOTNET_DIR=$ROOT/bindings-dotnet
DOTNET_PACKAGES=$DOTNET_DIR/artifacts/packages
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# The solution (library, tests, samples) over the release C ABI library.
build_dotnet() {
  need dotnet
  # Both libraries before the solution: several test projects copy libs2_streamstore.so, and only
  # one of them builds it when it is missing, so a parallel build could copy it before it exists.
  section ".NET: release C ABI libraries (cargo build --release -p durable-streams-ffi -p s2-streamstore-ffi)"
  cargo build --release -p durable-streams-ffi -p s2-streamstore-ffi
  section ".NET: build (dotnet build bindings-dotnet/DurableStreams.slnx)"
  dotnet build "$DOTNET_DIR/DurableStreams.slnx" -c Release
}

# DurableStreams.nupkg (managed assemblies for net8.0/net10.0 + runtimes/linux-x64/native).
pack_dotnet() {
  need dotnet
  section ".NET: release C ABI library (cargo build --release -p durable-streams-ffi)"
  cargo build --release -p durable-streams-ffi
  section ".NET: pack ($DOTNET_PACKAGES)"
  dotnet pack "$DOTNET_DIR/src/DurableStreams/DurableStreams.csproj" -c Release -o "$DOTNET_PACKAGES"
  dotnet pack "$DOTNET_DIR/src/DurableStreams.Extensions.DependencyInjection/DurableStreams.Extensions.DependencyInjection.csproj" \
    -c Release -o "$DOTNET_PACKAGES"
  dotnet pack "$DOTNET_DIR/src/DurableStreams.AspNetCore/DurableStreams.AspNetCore.csproj" -c Release -o "$DOTNET_PACKAGES"
  local dingo
  for dingo in StreamDingo StreamDingo.InMemory StreamDingo.DurableStreams StreamDingo.S2; do
    dotnet pack "$DOTNET_DIR/src/$dingo/$dingo.csproj" -c Release -o "$DOTNET_PACKAGES"
  done
  section ".NET: S2 release C ABI library (cargo build --release -p s2-streamstore-ffi)"
  cargo build --release -p s2-streamstore-ffi
  section ".NET: pack S2.StreamStore ($DOTNET_PACKAGES)"
  dotnet pack "$DOTNET_DIR/src/S2.StreamStore/S2.StreamStore.csproj" -c Release -o "$DOTNET_PACKAGES"
  dotnet pack "$DOTNET_DIR/src/S2.StreamStore.Extensions.DependencyInjection/S2.StreamStore.Extensions.DependencyInjection.csproj" \
    -c Release -o "$DOTNET_PACKAGES"
}

# The xunit tests against both real servers, then the packed package consumed from a local feed.
test_dotnet() {
  need dotnet
  build_dotnet
  section ".NET: server harness (cargo build -p durable-streams-test-harness)"
  cargo build -p durable-streams-test-harness
  section ".NET: tests (bindings-dotnet/tests/DurableStreams.Tests)"
  dotnet test "$DOTNET_DIR/tests/DurableStreams.Tests/DurableStreams.Tests.csproj" -c Release --no-build
  section ".NET: StreamDingo tests (bindings-dotnet/tests/StreamDingo.Tests, both servers)"
  dotnet test "$DOTNET_DIR/tests/StreamDingo.Tests/StreamDingo.Tests.csproj" -c Release --no-build
  section ".NET: ASP.NET Core webhook receiver tests (bindings-dotnet/tests/DurableStreams.AspNetCore.Tests)"
  dotnet test "$DOTNET_DIR/tests/DurableStreams.AspNetCore.Tests/DurableStreams.AspNetCore.Tests.csproj" -c Release --no-build
  pack_dotnet
  section ".NET: package test (restores DurableStreams from $DOTNET_PACKAGES)"
  dotnet test "$DOTNET_DIR/tests/DurableStreams.PackageTests/DurableStreams.PackageTests.csproj" -c Release
  section ".NET: package test (restores S2.StreamStore and its DI package from $DOTNET_PACKAGES)"
  dotnet test "$DOTNET_DIR/tests/S2.StreamStore.PackageTests/S2.StreamStore.PackageTests.csproj" -c Release
}

# ---------------------------------------------------------------- conformance adapter

ADAPTER_DIR=$DOTNET_DIR/artifacts/conformance-adapter
ADAPTER_BIN=$ADAPTER_DIR/durable-streams-conformance-adapter

# The conformance-suite adapter (bindings-dotnet/tools/ConformanceAdapter): published
# framework-dependent, with its apphost and the native library next to it.
build_adapter() {
  need dotnet
  section ".NET: release C ABI library (cargo build --release -p durable-streams-ffi)"
  cargo build --release -p durable-streams-ffi
  section ".NET: conformance adapter (dotnet publish -> $ADAPTER_DIR)"
  rm -rf "$ADAPTER_DIR"
  dotnet publish "$DOTNET_DIR/tools/ConformanceAdapter/ConformanceAdapter.csproj" -c Release -o "$ADAPTER_DIR"
  [ -x "$ADAPTER_BIN" ] || die "dotnet publish finished but $ADAPTER_BIN is missing"
}

# The published adapter driven like the conformance suite drives it, against both real servers.
test_adapter() {
  build_adapter
  section ".NET: server harness (cargo build -p durable-streams-test-harness)"
  cargo build -p durable-streams-test-harness
  section ".NET: conformance adapter tests (bindings-dotnet/tests/ConformanceAdapter.Tests)"
  DS_CONFORMANCE_ADAPTER=$ADAPTER_BIN \
    dotnet test "$DOTNET_DIR/tests/ConformanceAdapter.Tests/ConformanceAdapter.Tests.csproj" -c Release
}

# Builds the adapter (all output on stderr) and prints the one executable the suite starts.
cmd_adapter() {
  need cargo
  build_adapter >&2
  section "adapter: done" >&2
  echo "$ADAPTER_BIN"
}

# ---------------------------------------------------------------- benchmarks (bench/)

# The TypeScript client the benchmarks compare against, installed from npm at bench time.
BENCH_TS_CLIENT=@durable-streams/client
BENCH_TS_CLIENT_VERSION=0.2.7
BENCH_NODE_DIR=${DS_BENCH_NODE_DIR:-$ROOT/target/bench-node}

install_bench_node() {
  install_bench_node_package "$BENCH_TS_CLIENT" "$BENCH_TS_CLIENT_VERSION"
}

# install_bench_node_package PACKAGE VERSION: npm-installs PACKAGE@VERSION into $BENCH_NODE_DIR
# unless that version is there already.
install_bench_node_package() {
  local package=$1 version=$2
  section "Bench: TypeScript $package@$version"
  local manifest="$BENCH_NODE_DIR/node_modules/$package/package.json" installed=""
  if [ -f "$manifest" ]; then
    installed=$(node -p 'require(process.argv[1]).version' "$manifest" 2>/dev/null || true)
  fi
  if [ "$installed" = "$version" ]; then
    echo "already installed: $BENCH_NODE_DIR"
    return
  fi
  mkdir -p "$BENCH_NODE_DIR"
  if [ ! -f "$BENCH_NODE_DIR/package.json" ]; then
    printf '{\n  "name": "ds-bench-node",\n  "private": true\n}\n' >"$BENCH_NODE_DIR/package.json"
  fi
  (cd "$BENCH_NODE_DIR" && npm install --no-audit --no-fund "$package@$version")
}

# bench_step NAME COMMAND...: runs one benchmark, which writes $BENCH_OUT/NAME.json (Rust and
# Node programs take --json; the C program reads DS_C_BENCH_JSON). A failing benchmark (for
# example a read-back check) is recorded and the others still run.
bench_step() {
  local name=$1 begin
  shift
  begin=$(date +%s)
  if ! "$@"; then
    BENCH_FAILED+=("$name")
  fi
  echo "($name: $(($(date +%s) - begin)) s)"
}

bench_all() {
  local bin="$ROOT/target/release" node_bench="$ROOT/bench/node"
  export DS_TEST_SERVERS_BIN="$bin/ds-test-servers" DS_BENCH_NODE_DIR="$BENCH_NODE_DIR"
  section "Bench: producer throughput (rust-core, typescript)"
  local run name messages size producers
  for run in "1000000 100 1" "100000 1024 1" "1000000 100 4" "100000 1024 4"; do
    read -r messages size producers <<<"$run"
    name="producer-${messages}x${size}B-${producers}p"
    bench_step "$name" "$bin/producer-throughput" --messages "$messages" --size "$size" \
      --producers "$producers" --json "$BENCH_OUT/$name.json"
    bench_step "$name-ts" node "$node_bench/producer-throughput.mjs" --messages "$messages" \
      --size "$size" --producers "$producers" --json "$BENCH_OUT/$name-ts.json"
  done
  section "Bench: C ABI call overhead and producer throughput (c-abi)"
  bench_step c-abi env DS_C_BENCH_MESSAGES=2000000 DS_C_BENCH_REPS=5 DS_C_BENCH_ROUND_TRIPS=5000 \
    DS_C_BENCH_THROUGHPUT=1000000 DS_C_BENCH_JSON="$BENCH_OUT/c-abi.json" \
    "$ROOT/target/c-tests/bench_try_append"
  section "Bench: call overhead (rust-core baseline for the C ABI)"
  bench_step call-overhead "$bin/call-overhead" --json "$BENCH_OUT/call-overhead.json"
  section "Bench: single-append latency (rust-core, typescript)"
  bench_step append-latency "$bin/append-latency" --json "$BENCH_OUT/append-latency.json"
  bench_step append-latency-ts node "$node_bench/append-latency.mjs" \
    --json "$BENCH_OUT/append-latency-ts.json"
  section "Bench: catch-up reads (rust-core, typescript)"
  bench_step catchup-bytes "$bin/catchup-bytes" --json "$BENCH_OUT/catchup-bytes.json"
  bench_step catchup-bytes-ts node "$node_bench/catchup-bytes.mjs" \
    --json "$BENCH_OUT/catchup-bytes-ts.json"
  bench_step catchup-json "$bin/catchup-json" --json "$BENCH_OUT/catchup-json.json"
  bench_step catchup-json-ts node "$node_bench/catchup-json.mjs" \
    --json "$BENCH_OUT/catchup-json-ts.json"
  section "Bench: live delivery latency (rust-core)"
  bench_step live-sse "$bin/live-latency" --mode sse --json "$BENCH_OUT/live-sse.json"
  bench_step live-long-poll "$bin/live-latency" --mode long-poll \
    --json "$BENCH_OUT/live-long-poll.json"
  section "Bench: producer memory under back-pressure (rust-core)"
  bench_step producer-memory "$bin/producer-memory" --json "$BENCH_OUT/producer-memory.json"
  section "Bench: soak, producer + live SSE reader through faults (rust-core, ${DS_SOAK_SECONDS:-60} s)"
  bench_step soak "$bin/soak" --seconds "${DS_SOAK_SECONDS:-60}" --json "$BENCH_OUT/soak.json"
}

# The .NET layer (bindings-dotnet/bench/DurableStreams.Benchmarks): the DurableStreams package
# ("dotnet" rows) and a plain HttpClient doing the same requests ("dotnet-httpclient"), each
# command starting its own Electric server (memory mode) through ds-test-servers. Called by
# cmd_bench after bench_all (so DS_TEST_SERVERS_BIN and the release native library are in place);
# results go to bench/results/parts/dotnet-*.json. About 2-3 minutes plus the build.
DOTNET_BENCH_PROJECT=$DOTNET_DIR/bench/DurableStreams.Benchmarks/DurableStreams.Benchmarks.csproj
DOTNET_BENCH_BIN=$DOTNET_DIR/bench/DurableStreams.Benchmarks/bin/Release/net10.0/durable-streams-bench

bench_dotnet() {
  local parts="$ROOT/bench/results/parts" b=$DOTNET_BENCH_BIN run name messages size producers
  rm -f "$parts"/dotnet-*.json
  if ! command -v dotnet >/dev/null 2>&1; then
    echo "bench: dotnet is not on PATH; the .NET rows stay pending"
    return
  fi
  section "Bench: .NET build (dotnet build -c Release $DOTNET_BENCH_PROJECT)"
  if ! dotnet build "$DOTNET_BENCH_PROJECT" -c Release; then
    BENCH_FAILED+=("dotnet-build")
    return
  fi
  export DS_TEST_SERVERS_BIN="$ROOT/target/release/ds-test-servers"
  section "Bench: producer throughput (dotnet, dotnet-httpclient)"
  for run in "1000000 100 1" "100000 1024 1" "1000000 100 4" "100000 1024 4"; do
    read -r messages size producers <<<"$run"
    name="dotnet-producer-${messages}x${size}B-${producers}p"
    bench_step "$name" "$b" producer-throughput --messages "$messages" --size "$size" \
      --producers "$producers" --runs 5 --json "$parts/$name.json"
  done
  section "Bench: call overhead from .NET (dotnet)"
  bench_step dotnet-call-overhead "$b" call-overhead --json "$parts/dotnet-call-overhead.json"
  section "Bench: single-append latency (dotnet, dotnet-httpclient)"
  bench_step dotnet-append-latency "$b" append-latency --json "$parts/dotnet-append-latency.json"
  section "Bench: catch-up reads (dotnet, dotnet-httpclient)"
  bench_step dotnet-catchup-bytes "$b" catchup-bytes --json "$parts/dotnet-catchup-bytes.json"
  # Its own file: the bounded CopyToAsync path has no row of its own in the comparison table.
  bench_step dotnet-catchup-copy-to "$b" catchup-bytes --api copy-to --layers dotnet \
    --json "$BENCH_OUT/dotnet-catchup-copy-to.json"
  bench_step dotnet-catchup-json "$b" catchup-json --runs 5 --json "$parts/dotnet-catchup-json.json"
  section "Bench: live delivery latency (dotnet SSE and long-poll, dotnet-httpclient long-poll)"
  bench_step dotnet-live-sse "$b" live-latency --mode sse --json "$parts/dotnet-live-sse.json"
  bench_step dotnet-live-long-poll "$b" live-latency --mode long-poll \
    --json "$parts/dotnet-live-long-poll.json"
  section "Bench: soak of the .NET layer, producer + live SSE reader resuming from its checkpoint (dotnet, ${DS_SOAK_SECONDS:-60} s)"
  # Its own file, like the Rust soak's: an endurance verdict, not a row of the comparison table.
  bench_step dotnet-soak "$b" soak --seconds "${DS_SOAK_SECONDS:-60}" --faulty-posts 1 --json "$BENCH_OUT/dotnet-soak.json"
  section "Bench: subscription delivery through a pull worker (dotnet, Node reference server)"
  # Its own file too: only the Node server has subscriptions, so there is no comparison row.
  bench_step dotnet-subscription-delivery "$b" subscription-delivery \
    --json "$BENCH_OUT/dotnet-subscription-delivery.json"
  section "Bench: State Protocol apply rate, 1,000,000 change events (dotnet)"
  bench_step dotnet-state-apply "$b" state-apply --json "$BENCH_OUT/dotnet-state-apply.json"
  section "Bench: webhook delivery to an ASP.NET Core receiver (dotnet, Node reference server)"
  bench_step dotnet-webhook-delivery "$b" webhook-delivery --json "$BENCH_OUT/dotnet-webhook-delivery.json"
  section "Bench: StreamDingo (appends, replay, snapshots, hashes, allocations, latency, memory)"
  if dotnet build "$DOTNET_DIR/bench/StreamDingo.Benchmarks/StreamDingo.Benchmarks.csproj" -c Release; then
    bench_step dotnet-streamdingo "$DOTNET_DIR/bench/StreamDingo.Benchmarks/bin/Release/net10.0/streamdingo-bench" all \
      --json "$BENCH_OUT/dotnet-streamdingo.json"
  else
    BENCH_FAILED+=("streamdingo-build")
  fi
}

# ---------------------------------------------------------------- S2 benchmarks (bench/s2)

# The same workloads (bench/s2/README.md) through s2-sdk from Rust, the C ABI, the .NET package
# and S2's TypeScript SDK, one after the other, each against a fresh lite (in memory), inside a
# network namespace of their own. Results: target/bench-results/s2/<layer>.json, merged by s2-bench-report
# into bench/results/s2-latest.json and s2-latest.md. About 3 minutes plus the build.
BENCH_S2_TS_SDK=@s2-dev/streamstore
BENCH_S2_TS_SDK_VERSION=0.27.0
S2_BENCH_C_BIN=$ROOT/target/s2-bench/s2_bench
S2_DOTNET_BENCH_PROJECT=$DOTNET_DIR/bench/S2.StreamStore.Benchmarks/S2.StreamStore.Benchmarks.csproj
S2_DOTNET_BENCH_BIN=$DOTNET_DIR/bench/S2.StreamStore.Benchmarks/bin/Release/net10.0/s2-bench

bench_s2() {
  local started
  started=$(date +%s)
  install_s2_server
  install_bench_node_package "$BENCH_S2_TS_SDK" "$BENCH_S2_TS_SDK_VERSION"
  section "Bench S2: build (release)"
  cargo build --release -p s2-streamstore-bench -p s2-streamstore-ffi
  cargo build -p durable-streams-test-harness
  mkdir -p "$(dirname "$S2_BENCH_C_BIN")"
  cc -O2 -Wall -Wextra -Werror -std=c11 -D_POSIX_C_SOURCE=200809L -I"$ROOT/include" \
    "$ROOT/bench/s2/c/s2_bench.c" -L"$ROOT/target/release" -ls2_streamstore -lpthread \
    -Wl,-rpath,"$ROOT/target/release" -o "$S2_BENCH_C_BIN"
  if [ -f "$S2_DOTNET_BENCH_PROJECT" ] && command -v dotnet >/dev/null 2>&1; then
    dotnet build "$S2_DOTNET_BENCH_PROJECT" -c Release || BENCH_FAILED+=("s2-dotnet-build")
  fi
  S2_BENCH_OUT="$ROOT/target/bench-results/s2"
  rm -rf "$S2_BENCH_OUT"
  mkdir -p "$S2_BENCH_OUT" "$ROOT/bench/results"
  section "Bench S2: each layer against a fresh s2 lite, in a network namespace of its own"
  export S2_BENCH_OUT DS_BENCH_NODE_DIR=$BENCH_NODE_DIR
  run_isolated "$ROOT/build.sh" bench-s2-isolated || BENCH_FAILED+=("s2")
  section "Bench S2: report"
  "$ROOT/target/release/s2-bench-report" --results "$S2_BENCH_OUT" \
    --out-json "$ROOT/bench/results/s2-latest.json" --out-md "$ROOT/bench/results/s2-latest.md" \
    --started-at "$started" || BENCH_FAILED+=("s2-report")
}

# Inside bench_s2's namespace: every layer's program against a lite of its own, started fresh
# (a lite that has held and deleted another layer's data reads about 3 times slower, which
# would favour whichever layer runs first). Exits non-zero when a program failed (the others
# still ran).
bench_s2_isolated() {
  require_isolated bench-s2-isolated
  local bin="$ROOT/target/release"
  BENCH_FAILED=()
  bench_s2_layer s2-sdk "$bin/s2-sdk-bench"
  bench_s2_layer c-abi "$S2_BENCH_C_BIN"
  if [ -x "$S2_DOTNET_BENCH_BIN" ]; then
    bench_s2_layer dotnet "$S2_DOTNET_BENCH_BIN"
  else
    echo "bench: $S2_DOTNET_BENCH_BIN is not built; the .NET rows stay pending"
  fi
  bench_s2_layer typescript node "$ROOT/bench/s2/node/s2-bench.mjs"
  [ ${#BENCH_FAILED[@]} -eq 0 ] || die "S2 benchmarks failed: ${BENCH_FAILED[*]}"
}

# bench_s2_layer LAYER COMMAND...: starts a fresh lite, runs COMMAND --endpoint URL
# $S2_BENCH_FLAGS --json $S2_BENCH_OUT/LAYER.json, stops lite.
bench_s2_layer() {
  local layer=$1 line kind endpoint="" basin_endpoint
  shift
  coproc LITE { "$ROOT/target/debug/ds-test-servers" s2; }
  while IFS= read -r line <&"${LITE[0]}"; do
    [ "$line" = READY ] && break
    read -r kind endpoint basin_endpoint <<<"$line"
  done
  if [ -z "$endpoint" ]; then
    BENCH_FAILED+=("s2-$layer (lite did not start)")
    return
  fi
  section "Bench S2: $layer (s2 lite at $endpoint)"
  # shellcheck disable=SC2086 # S2_BENCH_FLAGS is a list of flags
  bench_step "s2-$layer" "$@" --endpoint "$endpoint" ${S2_BENCH_FLAGS:-} --json "$S2_BENCH_OUT/$layer.json"
  exec {LITE[1]}>&- # closing its stdin stops lite
  wait "$LITE_PID" || true
}

# ---------------------------------------------------------------- commands

cmd_build() {
  need cargo
  build_rust
  build_dotnet
  section "build: done"
}

cmd_test() {
  need cargo
  check_format
  lint_rust
  install_servers
  test_rust
  test_c
  test_dotnet
  test_adapter
  cmd_demo
  test_s2
  section "test: all passed"
}

cmd_bench() {
  need cargo
  need node
  need npm
  need make
  need cc
  need pkg-config
  local started load
  started=$(date +%s)
  load=$(cat /proc/loadavg 2>/dev/null || true)
  install_electric_server
  install_bench_node
  section "Bench: build (release)"
  cargo build --release -p durable-streams-bench -p durable-streams-ffi -p durable-streams-test-harness
  write_pkgconfig
  make -C tests/c "$ROOT/target/c-tests/bench_try_append"
  BENCH_OUT="$ROOT/target/bench-results"
  rm -rf "$BENCH_OUT"
  mkdir -p "$BENCH_OUT" "$ROOT/bench/results/parts"
  BENCH_FAILED=()
  bench_all
  # Hook for other layers: a function `bench_dotnet`, when defined (by the .NET steps), runs here
  # and drops its result files into bench/results/parts/ (see bench/README.md for the format);
  # bench-report merges every file there into the table, latest.json and the chart.
  if declare -F bench_dotnet >/dev/null; then
    bench_dotnet
  fi
  bench_s2
  section "Bench: report"
  "$ROOT/target/release/bench-report" --results "$BENCH_OUT" --parts "$ROOT/bench/results/parts" \
    --out-json "$ROOT/bench/results/latest.json" --out-svg "$ROOT/bench/results/latest.svg" \
    --started-at "$started" --load-before "$load"
  if [ ${#BENCH_FAILED[@]} -gt 0 ]; then
    die "benchmarks failed: ${BENCH_FAILED[*]} (see their output above)"
  fi
  section "bench: done in $(($(date +%s) - started)) s (bench/results/latest.json, latest.svg)"
}

cmd_servers() {
  need cargo
  install_servers
  section "servers: done ($SERVERS_DIR)"
}

# The main job on a local server: bindings-dotnet/samples/TokenStreamingDemo streams AI tokens
# from a producer to a reader, cuts the reader's connection midway and resumes from its saved
# offset; it exits non-zero if a token is lost or repeated.
DEMO_PROJECT=$DOTNET_DIR/samples/TokenStreamingDemo/TokenStreamingDemo.csproj

cmd_demo() {
  need cargo
  need dotnet
  local status=0
  install_electric_server
  section "demo: build (native library, server harness, .NET program)"
  cargo build --release -p durable-streams-ffi
  cargo build -p durable-streams-test-harness
  dotnet build "$DEMO_PROJECT" -c Release -v quiet -nologo
  section "demo: Electric's server on 127.0.0.1, then the program"
  start_server electric
  echo "server: $SERVER_PREFIX"
  dotnet run --project "$DEMO_PROJECT" -c Release --no-build -- "$SERVER_PREFIX" </dev/null || status=$?
  stop_server
  [ "$status" -eq 0 ] || die "the demo failed (exit status $status)"
  section "demo: done (server stopped)"
}

usage() {
  sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
}

main() {
  local cmd=${1:-build}
  case "$cmd" in
    -h | --help | help) ;;
    *) use_offline_crates ;;
  esac
  case "$cmd" in
    build) cmd_build ;;
    demo) cmd_demo ;;
    test) cmd_test ;;
    test-c)
      need cargo
      test_c
      ;;
    servers) cmd_servers ;;
    bench) cmd_bench ;;
    test-dotnet)
      need cargo
      test_dotnet
      ;;
    test-s2)
      need cargo
      test_s2
      section "test-s2: all passed"
      ;;
    test-s2-isolated) # internal: run by test-s2 inside its namespace
      need cargo
      test_s2_isolated
      ;;
    bench-s2)
      need cargo
      need node
      need npm
      need cc
      BENCH_FAILED=()
      bench_s2
      [ ${#BENCH_FAILED[@]} -eq 0 ] || die "benchmarks failed: ${BENCH_FAILED[*]}"
      section "bench-s2: done (bench/results/s2-latest.json, s2-latest.md)"
      ;;
    bench-s2-isolated) # internal: run by bench-s2 inside its namespace
      bench_s2_isolated
      ;;
    adapter) cmd_adapter ;;
    pack)
      need cargo
      pack_dotnet
      section "pack: done ($DOTNET_PACKAGES: DurableStreams, S2.StreamStore and their DependencyInjection packages $VERSION)"
      ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
