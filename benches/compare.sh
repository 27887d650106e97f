#!/usr/bin/env bash
# Times relayaudit beside grep and pflogsumm on one synthetic Postfix log and
# prints throughput and ratios. Usage: benches/compare.sh [SIZE_MB]
# Needs pflogsumm (Debian package pflogsumm) and GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb=${1:-300}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log="$work/maillog"
python3 benches/generate_postfix_log.py "$size_mb" "$log"
cargo build --release --quiet
bytes=$(stat -c %s "$log")
cat "$log" > /dev/null  # warm the page cache

measure() {
    local name=$1
    shift
    /usr/bin/time -f "%e %M" -o "$work/time" "$@" > /dev/null
    read -r seconds max_kb < "$work/time"
    printf '%-20s %8.2f s %8.1f MB/s %8d MB peak RSS\n' "$name" "$seconds" \
        "$(echo "$bytes / 1048576 / $seconds" | bc -l)" "$((max_kb / 1024))"
    echo "$seconds" > "$work/$name.seconds"
}

echo "input: $((bytes / 1048576)) MB, $(wc -l < "$log") lines; $(nproc) cores"
measure grep grep -c removed "$log"
measure pflogsumm pflogsumm "$log"
measure relayaudit-ingest ./target/release/relayaudit ingest "$log" --year 2024 -o "$work/ingest"
measure relayaudit-replay ./target/release/relayaudit replay "$log" --year 2024 -o "$work/replay"
pflogsumm_s=$(cat "$work/pflogsumm.seconds")
replay_s=$(cat "$work/relayaudit-replay.seconds")
printf 'relayaudit replay is %.1f times as fast as pflogsumm\n' "$(echo "$pflogsumm_s / $replay_s" | bc -l)"
