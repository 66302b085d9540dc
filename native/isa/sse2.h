/* SSE2, 4 lanes: the x86-64 baseline. No FMA and no round instruction, so the extended-exponent
 * reduction runs in double (two 2-lane halves), and tails go through a small stack buffer. */
#ifndef SB_ISA_SSE2_H
#define SB_ISA_SSE2_H
#include <emmintrin.h>
#include "../sb_common.h"

#define SB_ISA sse2
#define SB_W 4

typedef __m128 vf;

static inline vf v_load(const float *p) { return _mm_loadu_ps(p); }
static inline void v_store(float *p, vf v) { _mm_storeu_ps(p, v); }
/* Non-temporal store (p aligned to SB_STREAM_ALIGN): no read-for-ownership, bypasses the caches. */
static inline void v_stream(float *p, vf v) { _mm_stream_ps(p, v); }
static inline void v_stream_fence(void) { _mm_sfence(); }
#define SB_STREAM_ALIGN 16
static inline vf v_load_tail(const float *p, size_t n) {
    float buf[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    memcpy(buf, p, n * sizeof(float));
    return _mm_loadu_ps(buf);
}
static inline void v_store_tail(float *p, vf v, size_t n) {
    float buf[4];
    _mm_storeu_ps(buf, v);
    memcpy(p, buf, n * sizeof(float));
}
static inline vf v_set1(float a) { return _mm_set1_ps(a); }
static inline vf v_add(vf a, vf b) { return _mm_add_ps(a, b); }
static inline vf v_sub(vf a, vf b) { return _mm_sub_ps(a, b); }
static inline vf v_mul(vf a, vf b) { return _mm_mul_ps(a, b); }
static inline vf v_max(vf a, vf b) { return _mm_max_ps(a, b); }
/* 1 when every lane of a equals b's (ordered: a NaN lane is never equal). */
static inline int v_all_equal(vf a, vf b) { return _mm_movemask_ps(_mm_cmpneq_ps(a, b)) == 0; }
static inline vf v_fmadd(vf a, vf b, vf c) { return _mm_add_ps(_mm_mul_ps(a, b), c); }
static inline void v_to_lanes(float *out, vf v) { _mm_storeu_ps(out, v); }

static inline vf sb_sse2_poly(vf t) {
    vf p = _mm_add_ps(_mm_mul_ps(_mm_set1_ps(SB_EXP_C5), t), _mm_set1_ps(SB_EXP_C4));
    p = _mm_add_ps(_mm_mul_ps(p, t), _mm_set1_ps(SB_EXP_C3));
    p = _mm_add_ps(_mm_mul_ps(p, t), _mm_set1_ps(SB_EXP_C2));
    p = _mm_add_ps(_mm_mul_ps(p, t), _mm_set1_ps(SB_EXP_C1));
    return _mm_add_ps(_mm_mul_ps(p, t), _mm_set1_ps(1.0f));
}

/* The exp's documented accuracy over [ln(FLT_MIN), 0], in float32 ULP, which `softbench verify`
 * and the tests check: rr2 (two ln2 constants) and the degree-5 minimax measure about 2 ULP. */
#define SB_EXP_MAX_ULP 3.0f

/* exp(x) for x <= 0: 0 below SB_EXP_CUTOFF (and for -inf), NaN for NaN. The arguments are in
 * [-87.4, 0], where |n| <= 126, so n*ln2_hi is exact and the two-part reduction needs no FMA. */
static inline vf v_exp_nonpos(vf x) {
    const vf magic = _mm_set1_ps(0x1.8p23f + 127.0f);
    vf v = _mm_add_ps(_mm_mul_ps(x, _mm_set1_ps(SB_LOG2E)), magic);
    vf s = _mm_castsi128_ps(_mm_slli_epi32(_mm_castps_si128(v), 23));
    vf n = _mm_sub_ps(v, magic);
    vf t = _mm_sub_ps(x, _mm_mul_ps(n, _mm_set1_ps(SB_LN2_HI_CW)));
    t = _mm_sub_ps(t, _mm_mul_ps(n, _mm_set1_ps(SB_LN2_LO_CW)));
    vf r = _mm_mul_ps(sb_sse2_poly(t), s);
    return _mm_andnot_ps(_mm_cmplt_ps(x, _mm_set1_ps(SB_EXP_CUTOFF)), r);
}

static inline __m128d sb_sse2_round_pd(__m128d d) {
    const __m128d magic = _mm_set1_pd(0x1.8p52);
    return _mm_sub_pd(_mm_add_pd(_mm_mul_pd(d, _mm_set1_pd(0x1.71547652b82fep0)), magic), magic);
}

/* exp(x) = m * 2^n for any x (two-pass), x clamped below at SB_EXT_X_MASK, reduced in double:
 * n = round(x log2 e), m = p(x - n ln2). */
static inline vf v_ext_n(vf x) {
    vf xc = _mm_max_ps(_mm_set1_ps(SB_EXT_X_MASK), x); /* second operand: NaN passes */
    __m128d lo = sb_sse2_round_pd(_mm_cvtps_pd(xc)), hi = sb_sse2_round_pd(_mm_cvtps_pd(_mm_movehl_ps(xc, xc)));
    return _mm_movelh_ps(_mm_cvtpd_ps(lo), _mm_cvtpd_ps(hi));
}
static inline vf v_ext_m(vf x, vf n) {
    const __m128d ln2 = _mm_set1_pd(0x1.62e42fefa39efp-1);
    vf xc = _mm_max_ps(_mm_set1_ps(SB_EXT_X_MASK), x);
    __m128d tlo = _mm_sub_pd(_mm_cvtps_pd(xc), _mm_mul_pd(_mm_cvtps_pd(n), ln2));
    __m128d thi = _mm_sub_pd(_mm_cvtps_pd(_mm_movehl_ps(xc, xc)), _mm_mul_pd(_mm_cvtps_pd(_mm_movehl_ps(n, n)), ln2));
    return sb_sse2_poly(_mm_movelh_ps(_mm_cvtpd_ps(tlo), _mm_cvtpd_ps(thi)));
}

/* a * 2^k for integer-valued k <= 0; 0 when k < -126 or k = -inf (magic bias, as in avx2.h). */
static inline vf v_scale(vf a, vf k) {
    vf biased = _mm_add_ps(_mm_max_ps(k, _mm_set1_ps(-127.0f)), _mm_set1_ps(0x1.8p23f + 127.0f));
    return _mm_mul_ps(a, _mm_castsi128_ps(_mm_slli_epi32(_mm_castps_si128(biased), 23)));
}

#endif
