#!/usr/bin/env bash
# Build and test everything in this repository.
#
#   ./build.sh [build]   release build of all libraries (default)
#   ./build.sh test      format check, clippy, test servers, all tests
#   ./build.sh test-c    only the C ABI tests (tests/c; needs the servers installed)
#   ./build.sh test-dotnet  only the .NET tests (bindings-dotnet; needs the servers installed)
#   ./build.sh servers   install the real test servers into target/test-servers
#   ./build.sh pack      the NuGet package: bindings-dotnet/artifacts/packages/DurableStreams.0.1.0.nupkg
#   ./build.sh bench     benchmarks against Electric's server (memory mode); writes
#                        bench/results/latest.json
#
# Environment: DS_TEST_SERVERS_DIR, DS_ELECTRIC_SERVER_BIN, DS_NODE_SERVER_DIR are
# honoured the same way as by the Rust test harness (tests/harness).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
ROOT=$(pwd)

# Keep in sync with tests/harness/src/install.rs.
ELECTRIC_CRATE_VERSION=0.1.5
NODE_PACKAGE=@durable-streams/server
NODE_PACKAGE_VERSION=0.3.7
SERVERS_DIR=${DS_TEST_SERVERS_DIR:-$ROOT/target/test-servers}

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

# ---------------------------------------------------------------- build steps

build_rust() {
  section "Rust: release build (cargo build --workspace --release)"
  cargo build --workspace --release
  write_pkgconfig
}

# target/release/pkgconfig/durable_streams.pc from ffi/durable_streams.pc.in, pointing at this
# checkout's include/ and target/release/.
write_pkgconfig() {
  local version dir="$ROOT/target/release/pkgconfig"
  version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ROOT/Cargo.toml" | head -n 1)
  mkdir -p "$dir"
  sed -e "s|@PREFIX@|$ROOT|g" -e "s|@LIBDIR@|$ROOT/target/release|g" -e "s|@VERSION@|$version|g" \
    "$ROOT/ffi/durable_streams.pc.in" >"$dir/durable_streams.pc"
  PKG_CONFIG_PATH="$dir" pkg-config --exists durable_streams ||
    die "pkg-config cannot read $dir/durable_streams.pc"
  echo "wrote $dir/durable_streams.pc"
}

# ---------------------------------------------------------------- test servers

install_electric_server() {
  section "Test server: Electric durable-streams-server $ELECTRIC_CRATE_VERSION"
  if [ -n "${DS_ELECTRIC_SERVER_BIN:-}" ]; then
    [ -x "$DS_ELECTRIC_SERVER_BIN" ] || die "DS_ELECTRIC_SERVER_BIN=$DS_ELECTRIC_SERVER_BIN is not an executable"
    echo "using $DS_ELECTRIC_SERVER_BIN"
    return
  fi
  local root="$SERVERS_DIR/rust"
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
  local dir=${DS_NODE_SERVER_DIR:-$SERVERS_DIR/node}
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

install_servers() {
  install_electric_server
  install_node_server
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

# Creates, appends to and reads back a stream with examples/c/ds_example.
smoke_c_example() {
  local example="$ROOT/target/c-tests/ds_example" kind base prefix line url out
  coproc SERVERS { "$ROOT/target/debug/ds-test-servers" electric; }
  while IFS= read -r line <&"${SERVERS[0]}"; do
    [ "$line" = READY ] && break
    read -r kind base prefix <<<"$line"
  done
  [ -n "${prefix:-}" ] || die "ds-test-servers did not start"
  url="$prefix/c-example-$$"
  "$example" create "$url" text/plain
  printf 'first line\nsecond line\n' | "$example" append "$url"
  out=$("$example" cat "$url" 2>/dev/null)
  exec {SERVERS[1]}>&- # closing its stdin stops the servers
  wait "$SERVERS_PID" || true
  [ "$out" = $'first line\nsecond line' ] || die "ds_example read back: $out"
  echo "ds_example: ok ($kind)"
}

# ---------------------------------------------------------------- .NET (bindings-dotnet)

DOTNET_DIR=$ROOT/bindings-dotnet
DOTNET_PACKAGES=$DOTNET_DIR/artifacts/packages
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# The solution (library, tests, samples) over the release C ABI library.
build_dotnet() {
  need dotnet
  section ".NET: release C ABI library (cargo build --release -p durable-streams-ffi)"
  cargo build --release -p durable-streams-ffi
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
}

# The xunit tests against both real servers, then the packed package consumed from a local feed.
test_dotnet() {
  need dotnet
  build_dotnet
  section ".NET: server harness (cargo build -p durable-streams-test-harness)"
  cargo build -p durable-streams-test-harness
  section ".NET: tests (bindings-dotnet/tests/DurableStreams.Tests)"
  dotnet test "$DOTNET_DIR/tests/DurableStreams.Tests/DurableStreams.Tests.csproj" -c Release --no-build
  pack_dotnet
  section ".NET: package test (restores DurableStreams from $DOTNET_PACKAGES)"
  dotnet test "$DOTNET_DIR/tests/DurableStreams.PackageTests/DurableStreams.PackageTests.csproj" -c Release
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
  section "test: all passed"
}

cmd_bench() {
  need cargo
  install_electric_server
  section "Bench: build (release)"
  cargo build --release -p durable-streams-bench
  local out="$ROOT/bench/results"
  mkdir -p "$out"
  local tmp
  tmp=$(mktemp -d)
  section "Bench: producer throughput (rust-core)"
  local runs=(
    "--messages 1000000 --size 100 --producers 1"
    "--messages 100000 --size 1024 --producers 1"
    "--messages 1000000 --size 100 --producers 4"
    "--messages 100000 --size 1024 --producers 4"
  )
  local i=0
  for run in "${runs[@]}"; do
    # shellcheck disable=SC2086 # the run strings are word lists on purpose
    "$ROOT/target/release/producer-throughput" $run --json "$tmp/producer-$i.json"
    i=$((i + 1))
  done
  {
    printf '{"generated_at":"%s","machine":"%s","results":[' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(nproc) cores"
    local first=1
    for f in "$tmp"/*.json; do
      [ $first -eq 1 ] || printf ','
      cat "$f"
      first=0
    done
    printf ']}\n'
  } >"$out/latest.json"
  rm -rf "$tmp"
  section "bench: done (bench/results/latest.json)"
}

cmd_servers() {
  need cargo
  install_servers
  section "servers: done ($SERVERS_DIR)"
}

not_yet() {
  echo "build.sh: '$1' is not yet available" >&2
  exit 2
}

usage() {
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
}

main() {
  local cmd=${1:-build}
  case "$cmd" in
    build) cmd_build ;;
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
    pack)
      need cargo
      pack_dotnet
      section "pack: done ($DOTNET_PACKAGES/DurableStreams.0.1.0.nupkg)"
      ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
