/* Shared by every ISA module: the kernel ABI, the scalar double-precision merge helpers used
 * when a block of SIMD partial sums is flushed, and the constants the edge-case rules need. */
#ifndef SB_COMMON_H
#define SB_COMMON_H

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "exp_coeffs.h"

/* y = softmax(x) for n elements; y may equal x (in place), no other overlap. */
typedef void (*sb_softmax_fn)(size_t n, const float *x, float *y);

typedef struct {
    const char *algorithm; /* name from kernels.def */
    const char *variant;   /* "" (stores chosen by size), "temporal" or "nt" (non-temporal stores) */
    sb_softmax_fn kernel;
    sb_softmax_fn twin;    /* its traffic twin (algorithms/twins.h), with the same stores */
} sb_kernel_entry;

/* What one pass of an algorithm hands to the next. */
typedef struct {
    float max;      /* three-pass: max(x); online: the row's maximum */
    double sum;     /* sum of exp(x - max) (three-pass, online); two-pass: the mantissa M */
    double sum_exp; /* two-pass: the exponent E of the sum M * 2^E */
} sb_state;

typedef void (*sb_pass_fn)(size_t n, const float *x, float *y, sb_state *st);

/* How the states one pass leaves on separate chunks of a row combine into the whole row's state,
 * so that one row can be split across threads (threads.c; sb_merge_states below). */
enum {
    SB_MERGE_NONE,   /* the last pass: it only writes y */
    SB_MERGE_MAX,    /* max = the chunks' largest max */
    SB_MERGE_SUM,    /* sum = the chunks' sums added (every chunk used the same max) */
    SB_MERGE_EXT,    /* two-pass: (sum, sum_exp) pairs added in extended-exponent form */
    SB_MERGE_ONLINE  /* online: (max, sum) pairs, each sum rescaled to the largest max */
};

/* One pass of an algorithm, with its traffic twin and its own traffic (bytes per element), so
 * that a profile can time each pass alone against its memory floor; with non-temporal output
 * stores (fn_nt, twin_nt: the same functions for a pass that stores nothing) and its merge, so
 * that threads can run it on chunks of one row with the kernel's own store kind. */
typedef struct {
    const char *algorithm;
    const char *pass;
    sb_pass_fn fn;
    sb_pass_fn twin;
    int read_x, read_y, write_y;
    sb_pass_fn fn_nt;
    sb_pass_fn twin_nt;
    int merge;
} sb_pass_entry;

/* STREAM-style bandwidth kernels: read (sum x into y[0]), write (y = x[0]), copy, scale. */
typedef struct {
    const char *name;
    sb_softmax_fn kernel;
    int read_bytes, write_bytes; /* per element, without RFO */
} sb_stream_entry;

/* One fact of a struct's layout that softbench/bridge/build.py checks at load against its cffi
 * declarations: field "" is sizeof(type), any other field its offsetof. Every struct Python
 * restates has its size and each of its fields listed (instantiate.h, harness.c). */
typedef struct {
    const char *type;
    const char *field;
    size_t value;
} sb_abi_entry;
#define SB_ABI_SIZE(struct_) {.type = #struct_, .field = "", .value = sizeof(struct_)}
#define SB_ABI_FIELD(struct_, field_) {.type = #struct_, .field = #field_, .value = offsetof(struct_, field_)}

/* For the thin pass functions that only fix a worker's store kind (pass_expscale_nt, ...): the
 * kernels call them directly and must get the worker inlined, as if they called it themselves;
 * the pass table still takes their address, which keeps an out-of-line copy too. */
#define SB_PASS_INLINE inline __attribute__((always_inline))

#define SB_CONCAT_(a, b) a##b
#define SB_CONCAT(a, b) SB_CONCAT_(a, b)

/* Partial sums live in float SIMD lanes for at most SB_BLOCK_ITERS iterations of the unrolled
 * loop (so each lane adds at most that many terms, ~1e-6 relative error) and are then flushed into
 * double accumulators: the error of the whole sum does not grow with n. */
#define SB_BLOCK_ITERS 64

/* exp(x) is flushed to 0 below ln(FLT_MIN): 2^n is then no longer a normal float. */
#define SB_EXP_CUTOFF (-0x1.5d589ep+6f) /* -87.3365448 */

/* Two-pass: inputs are clamped below at SB_EXT_X_MASK so that every intermediate stays finite (-inf
 * included). A clamped input's exponent is about -2.4e7, so its share 2^(n - E) of the sum is
 * exactly 0 unless every input was clamped: the sum pass sees that as an exponent below
 * SB_EXT_E_MASKED and reports an empty sum (NaN outputs), as for an all -inf row. The accuracy of
 * the extended-exponent exp is guaranteed for |x| <= SB_EXT_X_ACCURATE (the README states it). */
#define SB_EXT_X_MASK (-0x1p24f)
#define SB_EXT_E_MASKED (-0x1p23)
#define SB_EXT_X_ACCURATE 0x1p20f

/* The extended-exponent exp as two-pass uses it, every ISA: the ratio m_i 2^n_i / (m_j 2^n_j) within
 * this many float32 ULP of exp(x_i - x_j), for |x| <= SB_EXT_X_ACCURATE and x_i up to 87.3 below
 * x_j (the FMA reduction x - n*ln2 loses a few bits as |x| grows to 2^20). */
#define SB_EXP_EXT_MAX_ULP 32.0f

/* 2^k for an integer-valued k <= 0, exactly, in double; 0 when k is below the double range. */
static inline double sb_pow2_d(double k) {
    if (k < -1022.0) return 0.0;
    uint64_t bits = (uint64_t)(int64_t)(k + 1023.0) << 52;
    double r;
    memcpy(&r, &bits, sizeof r);
    return r;
}

/* (M, E) += m * 2^e : the extended-exponent pair accumulation of the two-pass algorithm, in
 * double. The common case (same exponent) is one add; NaN in either side is sticky. */
static inline void sb_ext_accumulate(double *M, double *E, double m, double e) {
    if (m == 0.0) return; /* an empty lane or a masked (-inf) input: nothing to add */
    if (m != m || e != e || *M != *M) { *M = NAN; return; }
    if (*M == 0.0) { *M = m; *E = e; return; }
    if (e == *E) { *M += m; return; }
    if (e > *E) { *M = *M * sb_pow2_d(*E - e) + m; *E = e; }
    else { *M += m * sb_pow2_d(e - *E); }
}

/* Online normalizer in double: the sum d at reference maximum *mref absorbs a lane's (m, d). */
static inline void sb_online_accumulate(double *mref, double *dsum, double m, double d) {
    if (d != d || m != m || *dsum != *dsum) { *dsum = NAN; return; }
    if (m == *mref) { *dsum += d; return; }
    if (m > *mref) {
        *dsum = *dsum * exp(*mref - m) + d;
        *mref = m;
    } else {
        *dsum += d * exp(m - *mref);
    }
}

/* st = the merge of count chunk states left by a pass of merge kind `kind` (the chunks started
 * from st, so the fields the pass does not set are already right). A chunk's share is computed as
 * the one-thread kernel combines its SIMD lanes, with the same helpers: the split changes the
 * order of additions only. */
static inline void sb_merge_states(int kind, sb_state *st, const sb_state *const *chunk, int count) {
    if (kind == SB_MERGE_MAX) {
        float m = -INFINITY;
        for (int i = 0; i < count; i++) m = chunk[i]->max > m ? chunk[i]->max : m;
        st->max = m;
    } else if (kind == SB_MERGE_SUM) {
        double s = 0.0;
        for (int i = 0; i < count; i++) s += chunk[i]->sum;
        st->sum = s;
    } else if (kind == SB_MERGE_EXT) {
        double M = 0.0, E = -INFINITY;
        /* a masked chunk reports M = 0 and adds nothing: if every chunk was masked, M stays 0 */
        for (int i = 0; i < count; i++) sb_ext_accumulate(&M, &E, chunk[i]->sum, chunk[i]->sum_exp);
        st->sum = M;
        st->sum_exp = E;
    } else if (kind == SB_MERGE_ONLINE) {
        double m = -FLT_MAX, d = 0.0;
        for (int i = 0; i < count; i++) sb_online_accumulate(&m, &d, (double)chunk[i]->max, chunk[i]->sum);
        st->max = (float)m;
        st->sum = d;
    }
}

#endif
