#!/bin/bash
# Merges the shards' caches under TUNE_DIR (default ./tune-shards) into one table,
# TUNE_DIR/tune-table.json, for `tilec build --tuned-from`. A shard that owned no case
# wrote no cache, so the shards are found by what is there.
set -euo pipefail
shopt -s nullglob

TUNE_DIR=${TUNE_DIR:-$PWD/tune-shards}
tables=("$TUNE_DIR"/shard-*/tune-cache.json)
if ((${#tables[@]} == 0)); then
    echo "merge-shards: no shard-*/tune-cache.json under $TUNE_DIR" >&2
    exit 1
fi
tilec cache merge "$TUNE_DIR/tune-table.json" "${tables[@]}"
