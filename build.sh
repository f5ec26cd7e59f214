#!/usr/bin/env bash
# Builds Release binaries and puts runnable apphosts at artifacts/bin/ferryd and artifacts/bin/ferry.
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

out=artifacts/bin
mkdir -p "$out"
for project in src/Ferry.Daemon src/Ferry.Client; do
  dotnet publish "$project" -c Release -o "$out" --nologo -v quiet -p:UseAppHost=true
done
echo "built $out/ferryd and $out/ferry"
