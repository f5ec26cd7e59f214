#!/usr/bin/env bash
# Writes the shell completion scripts of ferryd and ferry into OUTDIR, each printed by the
# program itself from its command definitions (the hidden --completion option), so they
# always match the binaries they come from:
#   ferryd.bash ferry.bash   bash  (install as /usr/share/bash-completion/completions/ferryd, .../ferry)
#   _ferryd _ferry           zsh   (install into a directory on $fpath, e.g. /usr/share/zsh/vendor-completions)
#   ferryd.fish ferry.fish   fish  (install into /usr/share/fish/vendor_completions.d)
# ferry's scripts include `ferry bench`'s options, which ferry asks ferry-bench for: build
# all three first (./build.sh). BIN (or FERRY_BIN, as the tests set it) overrides where the binaries are (default artifacts/bin).
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
out=$1
bin=${BIN:-${FERRY_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/artifacts/bin}}
for program in ferryd ferry ferry-bench; do
  if [ ! -x "$bin/$program" ]; then
    echo "$0: $bin/$program is missing: run ./build.sh first" >&2
    exit 1
  fi
done
mkdir -p "$out"
for program in ferryd ferry; do
  "$bin/$program" --completion bash > "$out/$program.bash"
  "$bin/$program" --completion zsh > "$out/_$program"
  "$bin/$program" --completion fish > "$out/$program.fish"
done
# ferry without ferry-bench's part would silently complete no bench options.
if ! grep -q -- '--mode' "$out/ferry.bash"; then
  echo "$0: ferry's script lacks 'ferry bench' options: is $bin/ferry-bench working?" >&2
  exit 1
fi
echo "wrote ferryd.bash ferry.bash _ferryd _ferry ferryd.fish ferry.fish to $out"
