#!/usr/bin/env bash
# Builds native/build/libsft4j_native.so against the libtorch it finds: $LIBTORCH (a libtorch folder or a
# Python install's torch/ folder), else python3's torch. Without libtorch headers or CMake it prints one
# line and succeeds: sft4j then runs on DJL's portable path.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
prefix="${LIBTORCH:-}"
if [ -z "$prefix" ]; then
    prefix="$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null || true)"
fi
if [ -z "$prefix" ] || [ ! -d "$prefix/include/torch" ] || ! command -v cmake >/dev/null; then
    echo "sft4j native extension: skipped (no libtorch headers found: set LIBTORCH or install torch for python3; needs cmake); the portable DJL path is used"
    exit 0
fi
nccl="$(ls -d "$prefix"/../nvidia/nccl/include 2>/dev/null | head -1 || true)"   # pip's NCCL wheel
java_home="${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}"
cmake -S "$HERE" -B "$HERE/build" -DCMAKE_BUILD_TYPE=Release -DSFT4J_GLOO=ON -DCMAKE_PREFIX_PATH="$prefix/share/cmake" \
      -DJAVA_HOME="$java_home" ${nccl:+-DNCCL_INCLUDE="$nccl"} >"$HERE/build.log" 2>&1 || { cat "$HERE/build.log"; exit 1; }
cmake --build "$HERE/build" --target sft4j_native -j "$(nproc)" >>"$HERE/build.log" 2>&1 || {
    tail -50 "$HERE/build.log"; exit 1; }
echo "sft4j native extension: built $HERE/build/libsft4j_native.so against $prefix"
# the distributed part is optional: a failure leaves the single-process extension in place
dist() {
    cmake --build "$HERE/build" --target sft4j_dist -j "$(nproc)" >>"$HERE/build.log" 2>&1 && \
        echo "sft4j native extension: built $HERE/build/libsft4j_dist.so ($(grep -o 'sft4j_dist: .*' "$HERE/build.log" | tail -1 | cut -d' ' -f2-))"
}
dist || { cmake "$HERE/build" -DSFT4J_GLOO=OFF >>"$HERE/build.log" 2>&1 && dist; } || \
    echo "sft4j native extension: the distributed library did not build (see native/build.log); one process per run"
