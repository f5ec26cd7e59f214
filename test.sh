#!/usr/bin/env bash
# Runs every test (unit and integration) and ends with the line "N passed, N failed, N skipped".
# As root it installs the external peers the tests drive (nc from netcat-openbsd, socat,
# openssl, systemd-socket-activate from systemd, logrotate, redis-server and redis-tools, haproxy,
# prometheus and its promtool), gcc (the benchmark's C reference, built by the bench tests), pandoc,
# man-db and lintian (the man pages and the Debian package), zsh, fish and tmux (shell completion) and the Native AOT toolchain (clang,
# zlib1g-dev) when missing,
# and dotnet-counters (a .NET tool, from NuGet) into artifacts/tools.
# FERRY_REQUIRE_TOOLS=1 makes tests that need a missing tool fail instead of skip, and
# requires the Native AOT build (what ships) instead of falling back to the JIT one.
set -uo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

missing=()
dpkg -s netcat-openbsd >/dev/null 2>&1 || missing+=(netcat-openbsd)
command -v socat >/dev/null 2>&1 || missing+=(socat)
command -v systemd-socket-activate >/dev/null 2>&1 || missing+=(systemd)
command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v logrotate >/dev/null 2>&1 || missing+=(logrotate)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-benchmark >/dev/null 2>&1 || missing+=(redis-tools)
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
command -v clang >/dev/null 2>&1 || missing+=(clang)
command -v gcc >/dev/null 2>&1 || missing+=(gcc)
command -v pandoc >/dev/null 2>&1 || missing+=(pandoc)
command -v lintian >/dev/null 2>&1 || missing+=(lintian)
command -v man >/dev/null 2>&1 || missing+=(man-db)
command -v zsh >/dev/null 2>&1 || missing+=(zsh)
command -v fish >/dev/null 2>&1 || missing+=(fish)
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
dpkg -s zlib1g-dev >/dev/null 2>&1 || missing+=(zlib1g-dev)
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing test tools: ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "missing test tools (install them, or their tests skip): ${missing[*]}" >&2
  fi
fi

# Without recommends: they would bring node-exporter, a service that takes port 9100.
if ! command -v prometheus >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing test tools: prometheus"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; } \
      || echo "could not install prometheus" >&2
  else
    echo "missing test tools (install them, or their tests skip): prometheus" >&2
  fi
fi

# dotnet-counters attaches to a running ferryd (ObservabilityTests); a tool, so not from apt.
tools=$PWD/artifacts/tools
if [ ! -x "$tools/dotnet-counters" ]; then
  dotnet tool install --tool-path "$tools" dotnet-counters --version 10.0.750501 >/dev/null \
    || echo "could not install dotnet-counters (its test will skip, or fail under FERRY_REQUIRE_TOOLS=1)" >&2
fi
export PATH="$tools:$PATH"

[ "${FERRY_REQUIRE_TOOLS:-0}" = 1 ] && export FERRY_BUILD=${FERRY_BUILD:-aot}
./build.sh || { echo "0 passed, 1 failed"; exit 1; }
results=artifacts/test-results
rm -rf "$results"; mkdir -p "$results"

status=0
for project in Ferry.Tests Ferry.IntegrationTests; do
  if ! dotnet build "tests/$project" -c Release --nologo -v quiet; then
    echo "build of $project failed" >&2
    status=1
    continue
  fi
  # xunit v3 test projects are executables; -xml gives counts we sum below.
  dotnet "tests/$project/bin/Release/net10.0/$project.dll" -xml "$results/$project.xml" -noColor -noLogo -maxThreads 2 \
    || status=1
done

python3 - "$results" "$status" <<'PY'
import sys, glob, xml.etree.ElementTree as ET
results, status = sys.argv[1], int(sys.argv[2])
passed = failed = skipped = errors = 0
for path in glob.glob(f"{results}/*.xml"):
    for assembly in ET.parse(path).getroot().iter("assembly"):
        passed += int(assembly.get("passed", 0))
        failed += int(assembly.get("failed", 0))
        skipped += int(assembly.get("skipped", 0))
        errors += int(assembly.get("errors", 0))
# A project that failed to build or crashed counts as a failure, never as zero tests.
failed += errors + (1 if status and failed + errors == 0 else 0)
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or passed == 0 else 0)
PY
