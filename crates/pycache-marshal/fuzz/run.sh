#!/usr/bin/env bash
# Fuzzes the marshal reader for a bounded time: ./run.sh [seconds] (default
# 60). Exits non-zero when an input crashes; the input is then saved under
# artifacts/read/ (replay it with `cargo fuzz run --sanitizer none read <file>`).
#
# libFuzzer runs on stable Rust here because no sanitizer is requested: the
# coverage instrumentation cargo-fuzz adds uses only stable codegen options.
# Panics, overflow checks and debug assertions are what it catches.
#
# The corpus starts from small stdlib caches of the pyenv interpreters, when
# there are any, so that mutations start from real streams of each version.
set -euo pipefail

seconds="${1:-60}"
here="$(cd "$(dirname "$0")" && pwd)"
corpus="$here/corpus/read"
mkdir -p "$corpus"

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "cargo-fuzz is not installed: cargo install cargo-fuzz" >&2
    exit 2
fi

root="${PYENV_ROOT:-$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")}"
if [ -d "$root/versions" ]; then
    # Every 40th small cache, named by content so that reruns add nothing.
    find "$root"/versions/*/lib/python*/ -name '*.pyc' -size -12k 2>/dev/null | sort | awk 'NR % 40 == 0' |
        while read -r cache; do
            cp "$cache" "$corpus/seed-$(sha1sum <"$cache" | cut -c1-16)"
        done
fi
echo "fuzzing for ${seconds}s from $(find "$corpus" -type f | wc -l) corpus entries" >&2

cd "$here"
exec cargo fuzz run --sanitizer none read -- \
    -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
