#!/usr/bin/env bash
# Checks the include rules that keep Qt and LibTorch apart (docs/architecture.md, "Layers"):
#  - nothing under ui/ or app/workbench/ includes torch, ATen or c10 headers;
#  - nothing under engine/ includes a Qt header;
#  - engine/api headers, and every engine header they include (transitively), include no torch.
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

[ $status -eq 0 ] && echo "layering: ok (${#seen[@]} api-reachable headers checked)"
exit $status
