/* The measuring side of softbench, compiled once with baseline flags into the scalar module:
 * a timing loop around any kernel of any ISA module, FTZ/DAZ control, and the CPU/OS feature
 * probe that decides which ISA modules may run here. */
#ifndef SB_HARNESS_H
#define SB_HARNESS_H
#include <stddef.h>
#include <stdint.h>
#include "sb_common.h"

/* Calls fn(n, x, y) `calls` times back to back and returns the elapsed nanoseconds
 * (CLOCK_MONOTONIC_RAW where the OS has it). With ftz_daz set, the FPU flushes denormals for the
 * duration of the loop only, and the caller's mode is restored. */
double sb_time_calls(sb_softmax_fn fn, size_t n, const float *x, float *y, uint64_t calls, int ftz_daz);

/* The same loop around one pass of an algorithm (sb_pass_entry.fn or .twin), on a caller-prepared
 * state: *st is copied before each call, so a pass that updates the state sees the same input
 * every time. */
double sb_time_pass_calls(sb_pass_fn fn, size_t n, const float *x, float *y, const sb_state *st, uint64_t calls,
                          int ftz_daz);

/* Whether FTZ/DAZ can be set on this CPU (x86 MXCSR, AArch64 FPCR.FZ). */
int sb_ftz_daz_supported(void);

/* Sets FTZ/DAZ on the calling thread (when ftz_daz is set) and returns the mode to restore with
 * sb_fpmode_leave. The mode is per thread: the pool's workers (threads.c) set it themselves. */
unsigned sb_fpmode_enter(int ftz_daz);
void sb_fpmode_leave(unsigned old);

/* The harness's clock in ns (CLOCK_MONOTONIC_RAW where the OS has it). */
double sb_now_ns(void);

/* A batch: y[r] = softmax(x[r]) for each of `rows` rows of `cols` floats, one after the other.
 * Rows are independent, so a batch is the 1-D kernel (or twin) called once per row. */
void sb_batch(sb_softmax_fn fn, size_t rows, size_t cols, const float *x, float *y);

typedef struct {
    int is_x86, is_aarch64;
    int sse2, avx, fma, avx2, avx512f; /* the CPU says it has them (CPUID) */
    int os_avx, os_avx512;             /* the OS saves their register state (XCR0 via XGETBV) */
    uint64_t xcr0;
    int neon;                          /* AArch64: AT_HWCAP ASIMD */
} sb_cpu_features;

void sb_cpu_probe(sb_cpu_features *out);

/* The layout of the harness module's own structs that Python restates (sb_work of threads.h,
 * sb_cpu_features, sb_perf_group of perf_counters.h), for the check at load (sb_abi_entry). */
const sb_abi_entry *sb_harness_abi_table(size_t *count);

#endif
