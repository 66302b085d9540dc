/* AVX2 + FMA, 8 lanes. Tails use vmaskmovps, which does not touch masked-off memory. */
#ifndef SB_ISA_AVX2_H
#define SB_ISA_AVX2_H
#include <immintrin.h>
#include "../sb_common.h"

#define SB_ISA avx2
#define SB_W 8

typedef __m256 vf;

static inline __m256i sb_avx2_tail_mask(size_t n) {
    static const int32_t table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_loadu_si256((const __m256i *)(table + 8 - n));
}
static inline vf v_load(const float *p) { return _mm256_loadu_ps(p); }
static inline void v_store(float *p, vf v) { _mm256_storeu_ps(p, v); }
/* Non-temporal store (p aligned to SB_STREAM_ALIGN): no read-for-ownership, bypasses the caches. */
static inline void v_stream(float *p, vf v) { _mm256_stream_ps(p, v); }
static inline void v_stream_fence(void) { _mm_sfence(); }
#define SB_STREAM_ALIGN 32
/* n < 8 elements; the other lanes read as -inf, neutral for max and 0 after exp. */
static inline vf v_load_tail(const float *p, size_t n) {
    __m256i mask = sb_avx2_tail_mask(n);
    return _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), _mm256_maskload_ps(p, mask), _mm256_castsi256_ps(mask));
}
static inline void v_store_tail(float *p, vf v, size_t n) { _mm256_maskstore_ps(p, sb_avx2_tail_mask(n), v); }
static inline vf v_set1(float a) { return _mm256_set1_ps(a); }
static inline vf v_add(vf a, vf b) { return _mm256_add_ps(a, b); }
static inline vf v_sub(vf a, vf b) { return _mm256_sub_ps(a, b); }
static inline vf v_mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
static inline vf v_max(vf a, vf b) { return _mm256_max_ps(a, b); }
/* 1 when every lane of a equals b's (ordered: a NaN lane is never equal). */
static inline int v_all_equal(vf a, vf b) { return _mm256_movemask_ps(_mm256_cmp_ps(a, b, _CMP_NEQ_UQ)) == 0; }
static inline vf v_fmadd(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
static inline void v_to_lanes(float *out, vf v) { _mm256_storeu_ps(out, v); }

static inline vf sb_avx2_poly(vf t) {
    vf p = _mm256_fmadd_ps(_mm256_set1_ps(SB_EXP_C5), t, _mm256_set1_ps(SB_EXP_C4));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(SB_EXP_C3));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(SB_EXP_C2));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(SB_EXP_C1));
    return _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.0f));
}

/* The exp's documented accuracy over [ln(FLT_MIN), 0], in float32 ULP, which `softbench verify`
 * and the tests check: rr1 (one ln2 constant) measures 4.8 ULP (README "Performance"). */
#define SB_EXP_MAX_ULP 6.0f

/* exp(x) for x <= 0: 0 below SB_EXP_CUTOFF (and for -inf), NaN for NaN. The magic bias leaves
 * n + 127 in the low bits of v, so 2^n is those bits shifted into the exponent field. One ln2
 * constant in the reduction (rr1): with the FMA, t is off by at most 126 * |SB_LN2_LO| ~ 2.4e-7,
 * max relative error 3.9e-7 over every float in [ln(FLT_MIN), 0] (rr2: 1.6e-7), one FMA less
 * per exp (README "Performance"). */
static inline vf v_exp_nonpos(vf x) {
    const vf magic = _mm256_set1_ps(0x1.8p23f + 127.0f);
    vf v = _mm256_fmadd_ps(x, _mm256_set1_ps(SB_LOG2E), magic);
    vf s = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(v), 23));
    vf n = _mm256_sub_ps(v, magic);
    vf t = _mm256_fnmadd_ps(n, _mm256_set1_ps(SB_LN2_HI), x);
    vf r = _mm256_mul_ps(sb_avx2_poly(t), s);
    return _mm256_andnot_ps(_mm256_cmp_ps(x, _mm256_set1_ps(SB_EXP_CUTOFF), _CMP_LT_OQ), r);
}

/* exp(x) = m * 2^n for any x (two-pass), x clamped below at SB_EXT_X_MASK (see sb_common.h). One ln2
 * constant (rr1): m carries a factor e^(n * (ln2 - SB_LN2_HI)) that depends on n only (up to 3e-3
 * at |x| = 2^20), which cancels in two-pass's ratios m_i 2^n_i / (M 2^E): what `verify` checks
 * (SB_EXP_EXT_MAX_ULP). 1.07-1.14x faster than two constants (README "Performance"). */
static inline vf v_ext_n(vf x) {
    vf xc = _mm256_max_ps(_mm256_set1_ps(SB_EXT_X_MASK), x); /* second operand: NaN passes */
    return _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(SB_LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
static inline vf v_ext_m(vf x, vf n) {
    vf xc = _mm256_max_ps(_mm256_set1_ps(SB_EXT_X_MASK), x);
    vf t = _mm256_fnmadd_ps(n, _mm256_set1_ps(SB_LN2_HI), xc);
    return sb_avx2_poly(t);
}

/* a * 2^k for integer-valued k <= 0; 0 when k < -126 or k = -inf (NaN k also gives 0). The magic
 * bias puts k + 127 in the low mantissa bits, so 2^k is those bits shifted into the exponent. */
static inline vf v_scale(vf a, vf k) {
    vf biased = _mm256_add_ps(_mm256_max_ps(k, _mm256_set1_ps(-127.0f)), _mm256_set1_ps(0x1.8p23f + 127.0f));
    return _mm256_mul_ps(a, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(biased), 23)));
}

#endif
