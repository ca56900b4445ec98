#!/usr/bin/env bash
# Demonstration store: the shipped recordings (recordings/, P01 and P02) plus the made-up mood log
# docs/examples/mood_demo.csv. Run from the repository root:  bash docs/examples/mood_demo.sh [OUT_DIR]
# (OUT_DIR defaults to mood-demo/). A larger variant on real MetaMotion sets: mood_demo_metamotion.sh.
set -euo pipefail
OUT=${1:-mood-demo}
STORE="$OUT/store"
repsense process --out "$STORE" --participant P01 recordings/P01-bench_*_Accelerometer_*.csv
repsense process --out "$STORE" --participant P02 recordings/P02-deadlift_*_Accelerometer_*.csv
# P02's rows have no UTC offset: they are read as Europe/Amsterdam local time. Two rows are rejected
# on purpose (wrong item count, total mismatch): exit status 1, rejects file listed.
repsense mood import docs/examples/mood_demo.csv --store "$STORE" --timezone Europe/Amsterdam || true
repsense join --store "$STORE" --out "$OUT/sessions_mood.csv" --weekly "$OUT/weekly.csv" \
    --tolerance 1h --tolerance phq9=7d --tolerance gad7=7d --week-tz Europe/Amsterdam
repsense report --store "$STORE" --out "$OUT/report.html" --week-tz Europe/Amsterdam
repsense report --store "$STORE" --participant P01 --out "$OUT/P01.png" --week-tz Europe/Amsterdam
