#!/bin/bash
# The opt-in fuzz campaign: every fuzz target at once, each in seeded chunks of
# tests/fuzz/run_long.py (a chunk per seed 1, 2, ...) until no chunk may start after STOP
# (UTC, HH:MM). Run it on a copy of the tree (git archive) so edits cannot change it mid-run:
#     PYTHON=/path/to/.venv/bin/python tests/fuzz/campaign.sh 17:20 /tmp/campaign-logs
# Each chunk's summary is LOGS/TARGET-SEED.log; LOGS/TARGET.chunks lists seed, exit, seconds.
# A case's files are kept in LOGS/keep-TARGET (a crash of the process leaves its input there).
set -u
stop=$1
logs=$2
mkdir -p "$logs"
cd "$(dirname "$0")/../.."
export PYTHONPATH=$PWD DRIFTMON_FUZZ_SUBPROCESS_EVERY=${DRIFTMON_FUZZ_SUBPROCESS_EVERY:-50}
export DRIFTMON_FUZZ_DEADLINE=${DRIFTMON_FUZZ_DEADLINE:-none}  # slow under load is no finding; hangs are
python=${PYTHON:-python}
t=tests/fuzz
parts=$t/test_fuzz_monitor_parts.py
targets=(
  "config-structures $t/test_fuzz_config.py::test_fuzzed_config_structures_give_documented_outcomes 300"
  "config-text $t/test_fuzz_config.py::test_fuzzed_config_text_gives_documented_outcomes 500"
  "data-files $t/test_fuzz_data_files.py 300"
  "histogram-files $t/test_fuzz_histogram_files.py 300"
  "http $t/test_fuzz_http.py 1500"
  "model $parts::test_fuzzed_model_columns_and_labels_give_documented_outcomes 150"
  "quality $parts::test_fuzzed_quality_settings_give_documented_outcomes 200"
  "segments $parts::test_fuzzed_segments_give_documented_outcomes 200"
  "multivariate $parts::test_fuzzed_row_samples_give_documented_outcomes 150"
  "moving $parts::test_fuzzed_moving_references_give_documented_outcomes 200"
)
for target in "${targets[@]}"; do
  read -r label node examples <<< "$target"
  (
    seed=1
    while [ "$(date -u +%H:%M)" \< "$stop" ]; do
      start=$(date +%s)
      DRIFTMON_FUZZ_KEEP="$logs/keep-$label" nice -n 10 "$python" $t/run_long.py --examples "$examples" --seed "$seed" "$node" \
        > "$logs/$label-$seed.log" 2>&1
      echo "$label seed=$seed rc=$? seconds=$(( $(date +%s) - start ))" >> "$logs/$label.chunks"
      seed=$((seed + 1))
    done
  ) &
done
wait
