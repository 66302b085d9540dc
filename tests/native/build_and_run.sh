#!/usr/bin/env bash
# Builds tests/native/test_kernels.c with the kernel translation units and runs it.
#
#   build_and_run.sh native          host ISAs, -fsanitize=address,undefined, run natively
#   build_and_run.sh aarch64         scalar + NEON, cross-compiled (static), run under qemu-aarch64
#   build_and_run.sh inject          scalar only, -DSB_TEST_INJECT_FAILURE: must report a failure
#   build_and_run.sh compile-avx512  only compiles kernels/avx512f.c (-mavx512f -mfma)
#   build_and_run.sh threads         the thread pool (threads.c, test_threads.c), -fsanitize=thread
#
# Each kernels/<isa>.c is compiled as its own object with that ISA's flags; the driver with
# baseline flags and -Wall -Wextra -Werror. Build outputs go to $SB_BUILD_DIR if set, else to a
# temporary directory removed on exit. The exit status is the driver's (0: all passed, 1: some
# failed), 2 for a build error, 77 when a needed tool is missing (the caller decides to skip).
# Environment: CC (default cc), CROSS_CC (default aarch64-linux-gnu-gcc), QEMU (default
# qemu-aarch64, else qemu-aarch64-static).
set -u

mode=${1:-native}
here=$(cd "$(dirname "$0")" && pwd)
native=$(cd "$here/../../native" && pwd)

if [ -n "${SB_BUILD_DIR:-}" ]; then
    build=$SB_BUILD_DIR/$mode
    mkdir -p "$build"
else
    build=$(mktemp -d "${TMPDIR:-/tmp}/softbench-native-test.XXXXXX")
    trap 'rm -rf "$build"' EXIT
fi

# The flags softbench compiles the kernels with (softbench/kernels.py COMMON_FLAGS), plus warnings.
common=(-O3 -std=c11 -ffp-contract=off -fno-math-errno -Wall -Wextra)
flags_scalar=(-fno-tree-vectorize)
flags_sse2=(-msse2)
flags_avx2=(-mavx2 -mfma)
flags_avx512f=(-mavx512f -mfma)
flags_neon=()

need() {
    if ! command -v "$1" >/dev/null 2>&1; then
        echo "missing tool: $1 ($2)" >&2
        exit 77
    fi
}

# compile_all CC EXTRA_FLAGS... -- ISA...: one object per ISA, in parallel; sets $objects.
compile_all() {
    local cc=$1; shift
    local extra=()
    while [ "$1" != "--" ]; do extra+=("$1"); shift; done
    shift
    local pids=() isa var
    objects=()
    for isa in "$@"; do
        var="flags_${isa}[@]"
        "$cc" "${common[@]}" "${!var}" "${extra[@]}" -c "$native/kernels/$isa.c" -o "$build/$isa.o" &
        pids+=($!)
        objects+=("$build/$isa.o")
    done
    local status=0 pid
    for pid in "${pids[@]}"; do wait "$pid" || status=2; done
    if [ $status -ne 0 ]; then echo "build failed" >&2; exit 2; fi
}

# build_driver CC DRIVER_FLAGS...: links $objects into $build/test_kernels.
build_driver() {
    local cc=$1; shift
    "$cc" "${common[@]}" -Werror -isystem "$native" "$@" "$here/test_kernels.c" "${objects[@]}" -lm -o "$build/test_kernels" ||
        { echo "build failed" >&2; exit 2; }
}

host_isas() {
    case $(uname -m) in
        x86_64|amd64) echo "scalar sse2 avx2 avx512f" ;;
        aarch64|arm64) echo "scalar neon" ;;
        *) echo "scalar" ;;
    esac
}

defines_for() {
    local isa out=()
    for isa in "$@"; do
        [ "$isa" = scalar ] || out+=("-DSB_TEST_$(echo "$isa" | tr '[:lower:]' '[:upper:]')")
    done
    echo "${out[@]:-}"
}

case $mode in
native)
    CC=${CC:-cc}
    need "$CC" "a C compiler"
    san=(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g)
    # shellcheck disable=SC2046
    set -- $(host_isas)
    compile_all "$CC" "${san[@]}" -- "$@"
    # shellcheck disable=SC2046
    build_driver "$CC" "${san[@]}" $(defines_for "$@")
    ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:halt_on_error=1:detect_leaks=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        "$build/test_kernels"
    ;;
aarch64)
    CROSS_CC=${CROSS_CC:-aarch64-linux-gnu-gcc}
    need "$CROSS_CC" "Debian/Ubuntu: apt-get install gcc-aarch64-linux-gnu"
    if [ -z "${QEMU:-}" ]; then
        if command -v qemu-aarch64 >/dev/null 2>&1; then QEMU=qemu-aarch64
        else QEMU=qemu-aarch64-static; fi
    fi
    need "$QEMU" "Debian/Ubuntu: apt-get install qemu-user"
    compile_all "$CROSS_CC" -- scalar neon
    build_driver "$CROSS_CC" -static -DSB_TEST_NEON
    "$QEMU" "$build/test_kernels"
    ;;
inject)
    CC=${CC:-cc}
    need "$CC" "a C compiler"
    compile_all "$CC" -- scalar
    build_driver "$CC" -DSB_TEST_INJECT_FAILURE
    "$build/test_kernels"
    ;;
threads)
    CC=${CC:-cc}
    need "$CC" "a C compiler"
    tsan=(-fsanitize=thread -fno-omit-frame-pointer -g)
    echo 'int main(void) { return 0; }' > "$build/probe.c"
    "$CC" "${tsan[@]}" "$build/probe.c" -o "$build/probe" 2>/dev/null ||
        { echo "missing tool: the ThreadSanitizer runtime (Debian/Ubuntu: apt-get install libtsan2)" >&2; exit 77; }
    compile_all "$CC" "${tsan[@]}" -- scalar
    "$CC" "${common[@]}" -Werror -pthread "${tsan[@]}" -I "$native" "$here/test_threads.c" "$native/threads.c" \
        "$native/harness.c" "${objects[@]}" -lm -o "$build/test_threads" || { echo "build failed" >&2; exit 2; }
    TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1} "$build/test_threads"
    ;;
compile-avx512)
    CC=${CC:-cc}
    need "$CC" "a C compiler"
    compile_all "$CC" -- avx512f
    echo "compiled kernels/avx512f.c with ${flags_avx512f[*]}"
    ;;
*)
    echo "usage: $0 native|aarch64|inject|compile-avx512|threads" >&2
    exit 2
    ;;
esac
