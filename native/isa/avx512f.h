/* AVX-512F, 16 lanes. Tails use write masks; scaling by 2^k uses vscalefps, which is exact and
 * gives 0 for k = -inf, as the paper's kernels do. */
#ifndef SB_ISA_AVX512F_H
#define SB_ISA_AVX512F_H
#include <immintrin.h>
#include "../sb_common.h"

#define SB_ISA avx512f
#define SB_W 16

typedef __m512 vf;

static inline __mmask16 sb_avx512_tail_mask(size_t n) { return (__mmask16)((1u << n) - 1u); }
static inline vf v_load(const float *p) { return _mm512_loadu_ps(p); }
static inline void v_store(float *p, vf v) { _mm512_storeu_ps(p, v); }
/* Non-temporal store (p aligned to SB_STREAM_ALIGN): no read-for-ownership, bypasses the caches. */
static inline void v_stream(float *p, vf v) { _mm512_stream_ps(p, v); }
static inline void v_stream_fence(void) { _mm_sfence(); }
#define SB_STREAM_ALIGN 64
/* n < 16 elements; masked-off lanes are not read and come back as -inf. */
static inline vf v_load_tail(const float *p, size_t n) {
    return _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), sb_avx512_tail_mask(n), p);
}
static inline void v_store_tail(float *p, vf v, size_t n) { _mm512_mask_storeu_ps(p, sb_avx512_tail_mask(n), v); }
static inline vf v_set1(float a) { return _mm512_set1_ps(a); }
static inline vf v_add(vf a, vf b) { return _mm512_add_ps(a, b); }
static inline vf v_sub(vf a, vf b) { return _mm512_sub_ps(a, b); }
static inline vf v_mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
static inline vf v_max(vf a, vf b) { return _mm512_max_ps(a, b); }
/* 1 when every lane of a equals b's (ordered: a NaN lane is never equal). */
static inline int v_all_equal(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_NEQ_UQ) == 0; }
static inline vf v_fmadd(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
static inline void v_to_lanes(float *out, vf v) { _mm512_storeu_ps(out, v); }

static inline vf sb_avx512_poly(vf t) {
    vf p = _mm512_fmadd_ps(_mm512_set1_ps(SB_EXP_C5), t, _mm512_set1_ps(SB_EXP_C4));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(SB_EXP_C3));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(SB_EXP_C2));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(SB_EXP_C1));
    return _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.0f));
}

static inline vf sb_avx512_round(vf v) { return _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }

/* The exp's documented accuracy over [ln(FLT_MIN), 0], in float32 ULP, which `softbench verify`
 * and the tests check: rr1 (one ln2 constant) measures 4.8 ULP (README "Performance"). */
#define SB_EXP_MAX_ULP 6.0f

/* exp(x) for x <= 0: 0 below SB_EXP_CUTOFF (and for -inf), NaN for NaN. One ln2 constant in the
 * reduction (rr1), as in isa/avx2.h: one FMA less, 4.75 ULP (README "Performance"). */
static inline vf v_exp_nonpos(vf x) {
    vf n = sb_avx512_round(_mm512_mul_ps(x, _mm512_set1_ps(SB_LOG2E)));
    vf t = _mm512_fnmadd_ps(n, _mm512_set1_ps(SB_LN2_HI), x);
    __mmask16 keep = _mm512_cmp_ps_mask(x, _mm512_set1_ps(SB_EXP_CUTOFF), _CMP_NLT_UQ); /* NaN kept */
    return _mm512_maskz_scalef_ps(keep, sb_avx512_poly(t), n);
}

/* exp(x) = m * 2^n for any x (two-pass), x clamped below at SB_EXT_X_MASK; one ln2 constant (rr1),
 * as in isa/avx2.h: m's n-dependent factor cancels in two-pass's ratios. */
static inline vf v_ext_n(vf x) {
    vf xc = _mm512_max_ps(_mm512_set1_ps(SB_EXT_X_MASK), x); /* second operand: NaN passes */
    return sb_avx512_round(_mm512_mul_ps(xc, _mm512_set1_ps(SB_LOG2E)));
}
static inline vf v_ext_m(vf x, vf n) {
    vf xc = _mm512_max_ps(_mm512_set1_ps(SB_EXT_X_MASK), x);
    vf t = _mm512_fnmadd_ps(n, _mm512_set1_ps(SB_LN2_HI), xc);
    return sb_avx512_poly(t);
}

/* a * 2^k for integer-valued k <= 0 (vscalefps: 0 for k = -inf, denormal/0 far below). */
static inline vf v_scale(vf a, vf k) { return _mm512_scalef_ps(a, k); }

#endif
