#!/usr/bin/env bash
# Builds Release binaries and puts runnable executables at artifacts/bin/ferryd, artifacts/bin/ferry
# and artifacts/bin/ferry-bench (the load generator behind `ferry bench`, found next to ferry).
#
# With a C toolchain (clang and zlib1g-dev) they are Native AOT executables: no JIT, so a
# busy ferryd runs optimized code from its first connection instead of after seconds of
# tiering (bench/RESULTS.md, round 4), starts in milliseconds and needs less memory.
# Without one, or with FERRY_BUILD=jit, they are framework-dependent apphosts (same behaviour,
# slower to start and to warm up); the last line says which was built.
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

out=artifacts/bin
mkdir -p "$out"

case $(uname -m) in
  x86_64) rid=linux-x64 ;;
  aarch64) rid=linux-arm64 ;;
  *) rid= ;;
esac

# Native AOT links with clang and needs zlib: try a link instead of guessing package names.
can_link_native() {
  command -v clang >/dev/null 2>&1 &&
    printf 'int main(void){return 0;}\n' | clang -x c - -lz -o /dev/null >/dev/null 2>&1
}

kind=${FERRY_BUILD:-}
if [ -z "$kind" ]; then
  if [ -n "$rid" ] && can_link_native; then kind=aot; else kind=jit; fi
fi

if [ "$kind" = aot ] && { [ -z "$rid" ] || ! can_link_native; }; then
  echo "the Native AOT build needs clang and zlib1g-dev on x86-64 or arm64 (apt-get install clang zlib1g-dev), or FERRY_BUILD=jit" >&2
  exit 1
fi
case $kind in
  aot) options=(-r "$rid" -p:PublishAot=true) ;;
  jit) options=(-p:UseAppHost=true) ;;
  *) echo "FERRY_BUILD must be aot or jit, not '$kind'" >&2; exit 2 ;;
esac

# A previous build of the other kind leaves files that are not part of this one.
rm -f "$out"/ferryd* "$out"/ferry "$out"/ferry.* "$out"/ferry-bench* "$out"/*.dll "$out"/*.pdb "$out"/*.json "$out"/*.dbg
for project in src/Ferry.Daemon src/Ferry.Client src/Ferry.Bench; do
  dotnet publish "$project" -c Release -o "$out" --nologo -v quiet "${options[@]}"
done
if [ "$kind" = aot ]; then
  echo "built $out/ferryd, $out/ferry and $out/ferry-bench (Native AOT, $rid)"
else
  note=""
  [ -n "${FERRY_BUILD:-}" ] || note="; install clang and zlib1g-dev for the faster Native AOT build"
  echo "built $out/ferryd, $out/ferry and $out/ferry-bench (JIT, framework-dependent$note)"
fi
