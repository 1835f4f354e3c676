#!/usr/bin/env bash
# Checks the include rules that keep Qt and LibTorch apart (docs/architecture.md, "Layers"):
#  - nothing under ui/ or app/workbench/ includes torch, ATen or c10 headers;
#  - nothing under engine/ includes a Qt header;
#  - engine/api headers, and every engine header they include (transitively), include no torch;
#  - ui/ and app/ include nothing of the engine but engine/api (the facade is the only door);
#  - engine folders depend one way, downwards in this order, so there is no folder cycle:
#      util, compat < config < store, data, model, runtime < checkpoint < train < dist < job, bench < api
# Prints each violation as file:line and exits 1 if there is any.
set -u
root=${1:?usage: check_layering.sh SOURCE_DIR}
cd "$root" || exit 2
status=0
torch_re='#include[[:space:]]*[<"](torch/|ATen/|c10/|caffe2/)'
qt_re='#include[[:space:]]*[<"](Q[A-Za-z]+|Qt[A-Za-z]+/|qcustomplot)'

report() { echo "layering: $1"; status=1; }

while IFS= read -r hit; do report "torch header in the GUI: $hit"; done \
  < <(grep -rnE "$torch_re" ui app/workbench 2>/dev/null)
while IFS= read -r hit; do report "Qt header in the engine: $hit"; done \
  < <(grep -rnE "$qt_re" engine 2>/dev/null)

# Walk the includes of engine/api headers inside engine/.
declare -A seen
queue=(engine/api/*.h)
while [ ${#queue[@]} -gt 0 ]; do
  file=${queue[0]}; queue=("${queue[@]:1}")
  [ -f "$file" ] || continue
  [ -n "${seen[$file]:-}" ] && continue
  seen[$file]=1
  while IFS= read -r hit; do report "torch reachable from engine/api: $file:$hit"; done \
    < <(grep -nE "$torch_re" "$file")
  while IFS= read -r inc; do queue+=("engine/$inc"); done \
    < <(sed -nE 's/^#include[[:space:]]*"([^"]+\.h)".*/\1/p' "$file")
done

# The GUI and the CLI reach the engine through engine/api only.
engine_dirs=$(cd engine && ls -d */ | tr -d / | grep -vx api | paste -sd'|')
while IFS= read -r hit; do report "ui/app past engine/api: $hit"; done \
  < <(grep -rnE "#include[[:space:]]*\"($engine_dirs)/" ui app 2>/dev/null)

# Folder ranks: an include may only point at a folder of a lower rank (or its own folder).
declare -A rank=([util]=0 [compat]=0 [config]=1 [store]=2 [data]=2 [model]=2 [runtime]=2
                 [checkpoint]=3 [train]=4 [dist]=5 [job]=6 [bench]=6 [api]=7)
for dir in engine/*/; do
  from=$(basename "$dir")
  [ -n "${rank[$from]:-}" ] || { report "engine/$from has no rank in check_layering.sh"; continue; }
  while IFS=: read -r file line to; do
    [ "$to" = "$from" ] && continue
    [ -n "${rank[$to]:-}" ] || continue
    if [ "${rank[$to]}" -ge "${rank[$from]}" ]; then
      report "folder $from -> $to points up or sideways (a cycle in the making): $file:$line"
    fi
  done < <(grep -rnE '^#include[[:space:]]*"[a-z_]+/' "$dir" | sed -nE 's/^([^:]+):([0-9]+):#include[[:space:]]*"([a-z_]+)\/.*/\1:\2:\3/p')
done
# And a cycle check that needs no ranks: tsort refuses a graph with a loop.
edges=$(grep -rnE '^#include[[:space:]]*"[a-z_]+/' engine --include=*.h --include=*.cpp \
        | sed -nE 's/^engine\/([a-z_]+)\/[^:]*:[0-9]+:#include[[:space:]]*"([a-z_]+)\/.*/\1 \2/p' | awk '$1 != $2' | sort -u)
if ! loop=$(tsort <<<"$edges" 2>&1 >/dev/null) || [ -n "$loop" ]; then report "folder cycle: $(tr '\n' ' ' <<<"$loop")"; fi

[ $status -eq 0 ] && echo "layering: ok (${#seen[@]} api-reachable headers checked)"
exit $status
