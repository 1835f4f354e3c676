#!/usr/bin/env bash
# The build machines reach PyPI and Debian's packages, not the npm registry: no script or CMake
# file runs node, npm or npx, and no test or tool starts them (the references are Python, from
# .venv). Prints each offending line as file:line and exits 1 if there is any.
set -u
root=${1:?usage: check_no_node.sh SOURCE_DIR}
cd "$root" || exit 2
status=0
# In scripts and CMake files: node, npm or npx as a command word.
command_re='(^|[;&|(]|\$\()[[:space:]]*(node|npm|npx)([[:space:]]|$)'
# In C++ and Python: the program's name as a string, as a process start takes it.
literal_re='"(node|npm|npx)"'
while IFS= read -r hit; do echo "no-node: $hit"; status=1; done \
  < <(git ls-files -- '*.sh' '*.cmake' 'CMakeLists.txt' '*/CMakeLists.txt' .ci/run | xargs grep -nE "$command_re")
while IFS= read -r hit; do echo "no-node: $hit"; status=1; done \
  < <(git ls-files -- '*.cpp' '*.h' '*.py' | xargs grep -nE "$literal_re")
while IFS= read -r f; do echo "no-node: $f is tracked"; status=1; done < <(git ls-files -- '*package.json' '*package-lock.json')
[ $status -eq 0 ] && echo "no-node: no script or CMake file runs node, npm or npx, and no test starts them"
exit $status
