#!/usr/bin/env bash
# Demonstration store: real MetaMotion sets (participants A and C of the shared data set, stored as
# P01 and P02) plus the made-up mood log (2019 dates) docs/examples/mood_demo_metamotion.csv. Run from the repository root:
#   bash docs/examples/mood_demo_metamotion.sh [DATASET_RAW_DIR] [OUT_DIR]
# DATASET_RAW_DIR defaults to ../shared/datasets/metamotion-barbell/raw, OUT_DIR to mood-demo/.
set -euo pipefail
RAW=${1:-../shared/datasets/metamotion-barbell/raw}
OUT=${2:-mood-demo}
STORE="$OUT/store"
# Only the first exports (_1.4.4.csv); the _1.4.41.csv files are day-shifted copies.
repsense process --out "$STORE" --participant P01 "$RAW"/A-*_1.4.4.csv
repsense process --out "$STORE" --participant P02 "$RAW"/C-*_1.4.4.csv
# P02's rows have no UTC offset: they are read as Europe/Amsterdam local time. Two rows are rejected
# on purpose (wrong item count, total mismatch): exit status 1, rejects file listed.
repsense mood import docs/examples/mood_demo_metamotion.csv --store "$STORE" --timezone Europe/Amsterdam || true
repsense join --store "$STORE" --out "$OUT/sessions_mood.csv" --weekly "$OUT/weekly.csv" \
    --tolerance 2h --tolerance phq9=7d --tolerance gad7=7d --tolerance stai_y1=7d --week-tz Europe/Amsterdam
repsense report --store "$STORE" --out "$OUT/report.html" --week-tz Europe/Amsterdam
repsense report --store "$STORE" --participant P01 --out "$OUT/P01.png" --week-tz Europe/Amsterdam
