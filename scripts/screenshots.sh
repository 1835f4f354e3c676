#!/usr/bin/env bash
# Takes a screenshot of each workbench page under Xvfb into docs/screenshots/.
# Usage: scripts/screenshots.sh [PROJECT]   (run after a build)
set -euo pipefail
cd "$(dirname "$0")/.."
project=${1:-resources/projects/default/default.hy3proj}
mkdir -p docs/screenshots

shoot() {  # shoot PAGE FILE [PROJECT]
  local project=${3:-$project}
  xvfb-run -a -s "-screen 0 1400x1200x24" bash -c '
    build/app/hy3-workbench --size 1400x1200 --page "$1" "$2" & pid=$!
    sleep "${HY3_SHOT_DELAY:-5}"
    import -window root "$3"
    kill $pid' _ "$1" "$project" "$2"
  echo "screenshot: $2"
}

# The Data page shows the statistics of a prepared cache: prepare it first (reused when unchanged).
build/app/hy3 prepare "$project" > /dev/null

shoot Project docs/screenshots/project-page.png
shoot Data docs/screenshots/data-page.png
shoot Training docs/screenshots/training-page.png

# The Model and Layout pages on the released 295B config: 128 GPUs, pp 64 x dp 2.
preview=$(mktemp -d)/preview.hy3proj
cat > "$preview" <<JSON
{"schema_version": 1, "name": "Hy3-preview SFT on 16 nodes",
 "model": {"preset": "hy3-preview"},
 "datasets": [{"path": "$PWD/resources/projects/default/data/train.jsonl", "format": "auto", "split": "train"}],
 "training": {"seq_len": 4096, "global_batch": 256, "micro_batch": 1, "dtype": "bf16", "activation_checkpointing": true},
 "layout": {"pp": 64, "dp": 2, "ep": 1}, "output_dir": "runs"}
JSON
shoot Model docs/screenshots/model-page.png "$preview"

# The Layout page planning LoRA of the released model on one node of 8 x 141 GiB: the UI test sets
# the cluster and grabs the real window.
xvfb-run -a -s "-screen 0 1400x1200x24" env QT_QPA_PLATFORM=xcb HY3_SCREENSHOT_DIR="$PWD/docs/screenshots" \
  build/tests/tst_layout_page loraOnOneEightGpuNode > /dev/null
echo "screenshot: docs/screenshots/layout-page.png"

# The Train page during a real LoRA run of the default project (with its router collapse banner),
# its router load, and the Checkpoints page with Try it: the UI test drives a real run and grabs
# the real window (Qt's own grab).
xvfb-run -a -s "-screen 0 1400x1200x24" env QT_QPA_PLATFORM=xcb HY3_SCREENSHOT_DIR="$PWD/docs/screenshots" \
  build/tests/tst_train_page startWatchStopResume > /dev/null
echo "screenshot: docs/screenshots/train-page.png router-load.png checkpoints-page.png"
