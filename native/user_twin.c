/* The traffic twin of a user's kernel, built from the passes its author declared
 * (softbench/user_kernels.py): each pass is one sweep over the row that reads x, reads y, writes y,
 * or writes y from x or from y, done with the built-in twins' loops (algorithms/twins.h) at the
 * ISA's vector width and unroll, with trivial arithmetic. Compiled once per (ISA, declaration):
 *   -DSB_USER_ISA_HEADER='"isa/avx2.h"' -DSB_USER_PASSES=1,5   (softbench/user_kernels.py: PASS_BITS)
 * The twin's stores are normal (temporal) ones, or non-temporal with -DSB_USER_NT=1. */
#include SB_USER_ISA_HEADER
#include "algorithms/common_passes.h"
#include "algorithms/twins.h"

#ifndef SB_USER_NT
#define SB_USER_NT 0
#endif

enum { SB_UT_READ_X = 1, SB_UT_READ_Y = 2, SB_UT_WRITE_Y = 4 };

static const int sb_user_passes[] = {SB_USER_PASSES};

/* y = c for every element: a pass that writes y and reads nothing (STREAM write's loop). */
static void sb_user_fill(size_t n, float *y, float c, const int nt) {
    const vf v = v_set1(c);
    size_t i = SB_FN(stream_head)(y, n, nt);
    if (i) v_store_tail(y, v, i);
    for (; i + SB_VEC <= n; i += SB_VEC)
        for (int u = 0; u < SB_UNROLL; u++) SB_FN(store_y)(y + i + u * SB_W, v, nt);
    for (; i + SB_W <= n; i += SB_W) SB_FN(store_y)(y + i, v, nt);
    if (i < n) v_store_tail(y + i, v, n - i);
    if (nt) v_stream_fence();
}

void sb_user_twin(size_t n, const float *x, float *y) {
    if (n == 0) return;
    sb_state st = {.max = 0.0f, .sum = 1.0, .sum_exp = 0.0};
    for (size_t p = 0; p < sizeof sb_user_passes / sizeof sb_user_passes[0]; p++) {
        switch (sb_user_passes[p]) {
        case SB_UT_READ_X: SB_FN(twin_sum)(n, x, y, &st); break;
        case SB_UT_READ_Y: SB_FN(twin_sum)(n, y, y, &st); break;
        case SB_UT_WRITE_Y: sb_user_fill(n, y, (float)(1.0 / st.sum), SB_USER_NT); break;
        case SB_UT_READ_X | SB_UT_WRITE_Y: SB_FN(scale_copy)(n, x, y, &st, SB_USER_NT); break;
        case SB_UT_READ_Y | SB_UT_WRITE_Y: SB_FN(scale)(n, y, &st, SB_USER_NT); break;
        default: break; /* refused by the declaration's parser */
        }
    }
}
