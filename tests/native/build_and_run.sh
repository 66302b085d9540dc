#!/usr/bin/env bash
# Builds tests/native/test_kernels.c with the kernel translation units and runs it.
#
#   build_and_run.sh native          host ISAs, -fsanitize=address,undefined, run natively, their
#                                    default tiles (SB_TILES=all: every tile)
#   build_and_run.sh aarch64         scalar + NEON, cross-compiled (static), run under qemu-aarch64,
#                                    every tile of both (SB_TILES=default: the default tiles only)
#   build_and_run.sh inject          scalar only, -DSB_TEST_INJECT_FAILURE: must report a failure
#   build_and_run.sh compile-avx512  only compiles kernels/avx512f.c (-mavx512f -mfma)
#   build_and_run.sh threads         the thread pool (threads.c, test_threads.c), -fsanitize=thread
#
# Each kernels/<isa>.c is compiled as its own object with that ISA's flags; the driver with
# baseline flags and -Wall -Wextra -Werror. Build outputs go to $SB_BUILD_DIR if set, else to a
# temporary directory removed on exit. The exit status is the driver's (0: all passed, 1: some
# failed), 2 for a build error, 77 when a needed tool is missing (the caller decides to skip).
# Environment: CC (default cc), CROSS_CC (default aarch64-linux-gnu-gcc), QEMU (default
# qemu-aarch64, else qemu-aarch64-static), SB_TILES: "default" (each ISA's default tile, the
# first row of native/tiles.def) or "all" (every tile: the driver is built and run once per tile
# round k, with the k-th tile of each ISA that has one, since an ISA's tiles share their symbols);
# default "default" for native, "all" for aarch64. Every other mode builds the default tiles.
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

# The flags softbench compiles the kernels with (softbench/catalog.py COMMON_FLAGS), plus warnings.
common=(-O3 -std=c11 -ffp-contract=off -fno-math-errno -Wall -Wextra)

# The ISAs, from native/isas.def (the table softbench builds from): "name arch" per row, in order,
# and each one's flags.
isa_rows() {
    sed -n 's/^SB_ISA( *\([A-Za-z0-9_]*\) *, *"\([^"]*\)".*/\1 \2/p' "$native/isas.def"
}
isa_flags() {
    sed -n "s/^SB_ISA( *$1 *, *\"[^\"]*\" *, *[0-9]* *, *\"\([^\"]*\)\".*/\1/p" "$native/isas.def"
}
# tile_of ISA K: "UNROLL ACC" of the ISA's K-th row of native/tiles.def (1: its default), or nothing.
tile_of() {
    sed -n "s/^SB_TILE( *$1 *, *\([0-9]*\) *, *\([0-9]*\) *).*/\1 \2/p" "$native/tiles.def" | sed -n "$2p"
}
# isas_for ARCH: the rows an ARCH CPU can run ("any" ones included).
isas_for() {
    isa_rows | while read -r name arch; do
        if [ "$arch" = any ] || [ "$arch" = "$1" ]; then echo "$name"; fi
    done
}

need() {
    if ! command -v "$1" >/dev/null 2>&1; then
        echo "missing tool: $1 ($2)" >&2
        exit 77
    fi
}

# compile_all CC EXTRA_FLAGS... -- ISA...: one object per ISA, in parallel, of each one's tile
# $round (default 1: the default tile; an ISA without that many tiles is left out); sets $objects.
compile_all() {
    local cc=$1; shift
    local extra=()
    while [ "$1" != "--" ]; do extra+=("$1"); shift; done
    shift
    local pids=() isa flags tile unroll acc
    objects=()
    for isa in "$@"; do
        read -ra flags <<< "$(isa_flags "$isa")"
        if [ ! -f "$native/kernels/$isa.c" ]; then echo "isas.def names $isa but native/kernels/$isa.c is missing" >&2; exit 2; fi
        tile=$(tile_of "$isa" "${round:-1}")
        if [ -z "$tile" ]; then
            if [ "${round:-1}" = 1 ]; then echo "tiles.def declares no tile for $isa" >&2; exit 2; fi
            continue
        fi
        read -r unroll acc <<< "$tile"
        echo "tile ${round:-1}: $isa unroll $unroll acc $acc"
        "$cc" "${common[@]}" ${flags[@]+"${flags[@]}"} -DSB_UNROLL="$unroll" -DSB_ACC="$acc" "${extra[@]}" \
            -c "$native/kernels/$isa.c" -o "$build/$isa.o" &
        pids+=($!)
        objects+=("$build/$isa.o")
    done
    local status=0 pid
    for pid in "${pids[@]}"; do wait "$pid" || status=2; done
    if [ $status -ne 0 ]; then echo "build failed" >&2; exit 2; fi
}

# build_driver CC DRIVER_FLAGS...: links $objects and the harness's CPU probe into $build/test_kernels.
build_driver() {
    local cc=$1; shift
    "$cc" "${common[@]}" -Werror -isystem "$native" "$@" "$here/test_kernels.c" "$native/harness.c" "${objects[@]}" -lm \
        -o "$build/test_kernels" ||
        { echo "build failed" >&2; exit 2; }
}

# tile_rounds default|all CC FLAGS... -- RUNNER... -- ISA...: builds and runs the driver once per
# tile round (round k links each ISA's k-th tile; "default": round 1 only), with FLAGS for the
# objects and the driver, run as RUNNER...; prints each round's lines and one summary line that
# sums the rounds, as one run's would; exits 1 if any kernel failed.
tile_rounds() {
    local which=$1 cc=$2; shift 2
    local flags=() runner=() isas
    while [ "$1" != "--" ]; do flags+=("$1"); shift; done
    shift
    while [ "$1" != "--" ]; do runner+=("$1"); shift; done
    shift
    isas=("$@")
    local passed=0 failed=0 status=0 rc summary p f
    round=1
    while :; do
        compile_all "$cc" ${flags[@]+"${flags[@]}"} -- "${isas[@]}"
        [ ${#objects[@]} -gt 0 ] || break
        build_driver "$cc" ${flags[@]+"${flags[@]}"}
        "${runner[@]}" > "$build/round.out"
        rc=$?
        sed '$d' "$build/round.out"
        summary=$(tail -n 1 "$build/round.out")
        case $summary in
        *" passed, "*" failed") ;;
        *) echo "$summary"; echo "tile round $round: the driver printed no summary (exit $rc)" >&2; exit 2 ;;
        esac
        read -r p _ f _ <<< "$summary"
        passed=$((passed + p)) failed=$((failed + f))
        [ $rc -eq 0 ] || status=1
        [ "$which" = all ] || break
        round=$((round + 1))
    done
    echo "$passed passed, $failed failed"
    exit $status
}

host_isas() {
    case $(uname -m) in
        x86_64|amd64) isas_for x86_64 ;;
        aarch64|arm64) isas_for aarch64 ;;
        *) isas_for none ;;
    esac
}

case $mode in
native)
    CC=${CC:-cc}
    need "$CC" "a C compiler"
    san=(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g)
    export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:halt_on_error=1:detect_leaks=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    # shellcheck disable=SC2046
    tile_rounds "${SB_TILES:-default}" "$CC" "${san[@]}" -- "$build/test_kernels" -- $(host_isas)
    ;;
aarch64)
    CROSS_CC=${CROSS_CC:-aarch64-linux-gnu-gcc}
    need "$CROSS_CC" "Debian/Ubuntu: apt-get install gcc-aarch64-linux-gnu"
    if [ -z "${QEMU:-}" ]; then
        if command -v qemu-aarch64 >/dev/null 2>&1; then QEMU=qemu-aarch64
        else QEMU=qemu-aarch64-static; fi
    fi
    need "$QEMU" "Debian/Ubuntu: apt-get install qemu-user"
    # shellcheck disable=SC2046
    tile_rounds "${SB_TILES:-all}" "$CROSS_CC" -static -- "$QEMU" "$build/test_kernels" -- $(isas_for aarch64)
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
    echo "compiled kernels/avx512f.c with $(isa_flags avx512f)"
    ;;
*)
    echo "usage: $0 native|aarch64|inject|compile-avx512|threads" >&2
    exit 2
    ;;
esac
