#define _GNU_SOURCE
#include "harness.h"
#include "perf_counters.h"
#include "threads.h"

#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <xmmintrin.h>
#define SB_X86 1
#elif defined(__aarch64__)
#include <sys/auxv.h>
#define SB_AARCH64 1
#endif

double sb_now_ns(void) {
    struct timespec ts;
#ifdef CLOCK_MONOTONIC_RAW
    clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
#else
    clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

#if SB_X86
unsigned sb_fpmode_enter(int ftz_daz) {
    unsigned old = _mm_getcsr();
    if (ftz_daz) _mm_setcsr(old | 0x8040u); /* FTZ (bit 15) | DAZ (bit 6) */
    return old;
}
void sb_fpmode_leave(unsigned old) { _mm_setcsr(old); }
int sb_ftz_daz_supported(void) { return 1; }
#elif SB_AARCH64
unsigned sb_fpmode_enter(int ftz_daz) {
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    if (ftz_daz) {
        uint64_t on = fpcr | (1u << 24); /* FZ: flush inputs and outputs */
        __asm__ volatile("msr fpcr, %0" : : "r"(on));
    }
    return (unsigned)fpcr;
}
void sb_fpmode_leave(unsigned old) {
    uint64_t fpcr = old;
    __asm__ volatile("msr fpcr, %0" : : "r"(fpcr));
}
int sb_ftz_daz_supported(void) { return 1; }
#else
unsigned sb_fpmode_enter(int ftz_daz) { (void)ftz_daz; return 0; }
void sb_fpmode_leave(unsigned old) { (void)old; }
int sb_ftz_daz_supported(void) { return 0; }
#endif

void sb_batch(sb_softmax_fn fn, size_t rows, size_t cols, const float *x, float *y) {
    for (size_t r = 0; r < rows; r++) fn(cols, x + r * cols, y + r * cols);
}

double sb_time_calls(sb_softmax_fn fn, size_t n, const float *x, float *y, uint64_t calls, int ftz_daz) {
    unsigned mode = sb_fpmode_enter(ftz_daz);
    double start = sb_now_ns();
    for (uint64_t c = 0; c < calls; c++) fn(n, x, y);
    double end = sb_now_ns();
    sb_fpmode_leave(mode);
    return end - start;
}

double sb_time_pass_calls(sb_pass_fn fn, size_t n, const float *x, float *y, const sb_state *st, uint64_t calls,
                          int ftz_daz) {
    unsigned mode = sb_fpmode_enter(ftz_daz);
    double start = sb_now_ns();
    for (uint64_t c = 0; c < calls; c++) {
        sb_state s = *st;
        fn(n, x, y, &s);
    }
    double end = sb_now_ns();
    sb_fpmode_leave(mode);
    return end - start;
}

void sb_cpu_probe(sb_cpu_features *f) {
    memset(f, 0, sizeof *f);
#if SB_X86
    unsigned a, b, c, d;
    f->is_x86 = 1;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    f->sse2 = (d >> 26) & 1;
    f->fma = (c >> 12) & 1;
    f->avx = (c >> 28) & 1;
    int osxsave = (c >> 27) & 1;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        f->avx2 = (b >> 5) & 1;
        f->avx512f = (b >> 16) & 1;
    }
    if (osxsave) {
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        f->xcr0 = ((uint64_t)hi << 32) | lo;
        f->os_avx = (f->xcr0 & 0x6) == 0x6;       /* XMM and YMM state */
        f->os_avx512 = (f->xcr0 & 0xe6) == 0xe6;  /* plus opmask, ZMM_Hi256, Hi16_ZMM */
    }
#elif SB_AARCH64
    f->is_aarch64 = 1;
#ifdef HWCAP_ASIMD
    f->neon = (getauxval(AT_HWCAP) & HWCAP_ASIMD) != 0;
#else
    f->neon = 1; /* Advanced SIMD is mandatory on AArch64 */
#endif
#endif
}

static const sb_abi_entry sb_harness_abi[] = {
    SB_ABI_SIZE(sb_work),
    SB_ABI_FIELD(sb_work, fn),
    SB_ABI_FIELD(sb_work, passes),
    SB_ABI_FIELD(sb_work, pass),
    SB_ABI_FIELD(sb_work, merge),
    SB_ABI_SIZE(sb_cpu_features),
    SB_ABI_FIELD(sb_cpu_features, is_x86),
    SB_ABI_FIELD(sb_cpu_features, is_aarch64),
    SB_ABI_FIELD(sb_cpu_features, sse2),
    SB_ABI_FIELD(sb_cpu_features, avx),
    SB_ABI_FIELD(sb_cpu_features, fma),
    SB_ABI_FIELD(sb_cpu_features, avx2),
    SB_ABI_FIELD(sb_cpu_features, avx512f),
    SB_ABI_FIELD(sb_cpu_features, os_avx),
    SB_ABI_FIELD(sb_cpu_features, os_avx512),
    SB_ABI_FIELD(sb_cpu_features, xcr0),
    SB_ABI_FIELD(sb_cpu_features, neon),
    SB_ABI_SIZE(sb_perf_group),
    SB_ABI_FIELD(sb_perf_group, count),
    SB_ABI_FIELD(sb_perf_group, fds),
    SB_ABI_FIELD(sb_perf_group, ids),
    SB_ABI_FIELD(sb_perf_group, leader),
};

const sb_abi_entry *sb_harness_abi_table(size_t *count) {
    *count = sizeof sb_harness_abi / sizeof sb_harness_abi[0];
    return sb_harness_abi;
}
