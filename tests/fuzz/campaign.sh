#!/bin/bash
# The opt-in fuzz campaign: every fuzz target at once, each in seeded chunks of
# tests/fuzz/run_long.py (a chunk per seed), until the target has run CASES cases
# (default 10000) or no chunk may start after STOP (UTC, HH:MM). Run it on a copy of the
# tree (git archive) so edits cannot change it mid-run:
#     PYTHON=/path/to/.venv/bin/python tests/fuzz/campaign.sh 17:20 /tmp/campaign-logs [TARGET ...]
# Give target labels (config-text, http, ...) to run only those. Each chunk's summary is
# LOGS/TARGET-SEED.log; LOGS/TARGET.chunks lists seed, exit, seconds. A case's files are kept
# in LOGS/keep-TARGET (a crash of the process leaves its input there). The HTTP target waits
# on sockets more than it computes, so it runs in LANES parallel lanes (default 2), each with
# its own daemons on free ports and its own seeds. NICE (default 19) keeps other work first.
set -u
stop=$1
logs=$2
shift 2
only=" $* "
mkdir -p "$logs"
cd "$(dirname "$0")/../.."
export PYTHONPATH=$PWD DRIFTMON_FUZZ_SUBPROCESS_EVERY=${DRIFTMON_FUZZ_SUBPROCESS_EVERY:-50}
export DRIFTMON_FUZZ_DEADLINE=${DRIFTMON_FUZZ_DEADLINE:-none}  # slow under load is no finding; hangs are
python=${PYTHON:-python}
cases_wanted=${CASES:-10000}
lanes=${LANES:-2}
t=tests/fuzz
parts=$t/test_fuzz_monitor_parts.py
targets=(
  "config-structures $t/test_fuzz_config.py::test_fuzzed_config_structures_give_documented_outcomes 300 1"
  "config-text $t/test_fuzz_config.py::test_fuzzed_config_text_gives_documented_outcomes 500 1"
  "data-files $t/test_fuzz_data_files.py 300 1"
  "histogram-files $t/test_fuzz_histogram_files.py 300 1"
  "http $t/test_fuzz_http.py 500 $lanes"
  "model $parts::test_fuzzed_model_columns_and_labels_give_documented_outcomes 150 1"
  "quality $parts::test_fuzzed_quality_settings_give_documented_outcomes 200 1"
  "segments $parts::test_fuzzed_segments_give_documented_outcomes 200 1"
  "multivariate $parts::test_fuzzed_row_samples_give_documented_outcomes 150 1"
  "moving $parts::test_fuzzed_moving_references_give_documented_outcomes 200 1"
)

cases_run() {  # the cases the target's finished chunks ran (every lane)
  cat "$logs/$1"-*.log 2>/dev/null | sed -n 's/^fuzz campaign: \([0-9]*\) cases.*/\1/p' | awk '{s += $1} END {print s + 0}'
}

for target in "${targets[@]}"; do
  read -r label node examples target_lanes <<< "$target"
  if [ "$only" != "  " ] && [[ "$only" != *" $label "* ]]; then
    continue
  fi
  for lane in $(seq 1 "$target_lanes"); do
    (
      seed=$lane
      while [ "$(date -u +%H:%M)" \< "$stop" ] && [ "$(cases_run "$label")" -lt "$cases_wanted" ]; do
        start=$(date +%s)
        DRIFTMON_FUZZ_KEEP="$logs/keep-$label" nice -n "${NICE:-19}" "$python" $t/run_long.py --examples "$examples" --seed "$seed" "$node" \
          > "$logs/$label-$seed.part" 2>&1
        rc=$?
        mv "$logs/$label-$seed.part" "$logs/$label-$seed.log"
        echo "$label seed=$seed rc=$rc seconds=$(( $(date +%s) - start ))" >> "$logs/$label.chunks"
        seed=$((seed + target_lanes))
      done
    ) &
  done
done
wait
