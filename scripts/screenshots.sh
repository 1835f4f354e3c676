#!/usr/bin/env bash
# Takes a screenshot of each workbench page under Xvfb into docs/screenshots/.
# Usage: scripts/screenshots.sh [PROJECT]   (run after a build)
set -euo pipefail
cd "$(dirname "$0")/.."
project=${1:-resources/projects/default/default.hy3proj}
mkdir -p docs/screenshots

shoot() {  # shoot PAGE FILE [PROJECT]
  local project=${3:-$project}
  xvfb-run -a -s "-screen 0 1200x800x24" bash -c '
    build/app/hy3-workbench --page "$1" "$2" & pid=$!
    sleep "${HY3_SHOT_DELAY:-4}"
    import -window root "$3"
    kill $pid' _ "$1" "$project" "$2"
  echo "screenshot: $2"
}

shoot Project docs/screenshots/project-page.png
# The Model page on the released 295B config.
preview=$(mktemp -d)/preview.hy3proj
sed 's/"hy3-tiny"/"hy3-preview"/' "$project" > "$preview"
shoot Model docs/screenshots/model-page.png "$preview"
