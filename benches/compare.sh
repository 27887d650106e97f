#!/usr/bin/env bash
# Times relayaudit beside grep and pflogsumm on one synthetic Postfix log and
# prints wall time, CPU time (user + system), throughput, peak RSS and the
# ratio to pflogsumm.
#
# Usage: benches/compare.sh [SIZE_MB] [BINARY...]
#
# Without BINARY it builds and times ./target/release/relayaudit. With one or
# more BINARY paths it times each of them on the same log instead, labelled
# by file name, for example an old build beside a new one.
# Needs pflogsumm (Debian package pflogsumm), GNU time (/usr/bin/time) and bc.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb=${1:-300}
shift || true
binaries=("$@")
if [ ${#binaries[@]} -eq 0 ]; then
    cargo build --release --quiet
    binaries=(./target/release/relayaudit)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log="$work/maillog"
python3 benches/generate_postfix_log.py "$size_mb" "$log"
bytes=$(stat -c %s "$log")
cat "$log" > /dev/null  # warm the page cache

measure() {
    local name=$1
    shift
    # Output goes to a file: GNU grep stops at the first match when its
    # output is /dev/null.
    /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" > "$work/stdout"
    read -r seconds user system max_kb < "$work/time"
    printf '%-28s %7.2f s wall %7.2f s CPU %8.1f MB/s %6d MB peak RSS\n' "$name" "$seconds" \
        "$(echo "$user + $system" | bc -l)" "$(echo "$bytes / 1048576 / $seconds" | bc -l)" \
        "$((max_kb / 1024))"
    echo "$seconds" > "$work/$name.seconds"
}

ratio() {
    local name=$1
    local pflogsumm_s
    pflogsumm_s=$(cat "$work/pflogsumm.seconds")
    printf '%-28s %.1f times as fast as pflogsumm\n' "$name" \
        "$(echo "$pflogsumm_s / $(cat "$work/$name.seconds")" | bc -l)"
}

echo "input: $((bytes / 1048576)) MB, $(wc -l < "$log") lines; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
measure grep grep -c removed "$log"
measure pflogsumm pflogsumm "$log"
for binary in "${binaries[@]}"; do
    label=$(basename "$binary")
    measure "$label-ingest" "$binary" ingest "$log" --year 2024 -o "$work/ingest" --force
    measure "$label-replay" "$binary" replay "$log" --year 2024 -o "$work/replay" --force
done
for binary in "${binaries[@]}"; do
    label=$(basename "$binary")
    ratio "$label-ingest"
    ratio "$label-replay"
done
