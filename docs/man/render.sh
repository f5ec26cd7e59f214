#!/bin/sh
# Renders the man pages (ferryd.8, ferry.1, ferryd.json.5) from their pandoc Markdown
# sources beside this script into OUTDIR. Needs pandoc (Debian: apt-get install pandoc).
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
out=$1

if ! command -v pandoc >/dev/null 2>&1; then
    echo "$0: pandoc is not installed (apt-get install pandoc); cannot render the man pages" >&2
    exit 1
fi
here=$(cd "$(dirname "$0")" && pwd)

mkdir -p "$out"
for page in ferryd.8 ferry.1 ferryd.json.5; do
    pandoc --standalone --from markdown --to man "$here/$page.md" --output "$out/$page"
done
