/* Portable scalar C: the "vector" is one float. Compiled with -fno-tree-vectorize so that the
 * scalar figures are really scalar. The extended-exponent reduction runs in double because plain C
 * has no cheap fused multiply-add here, and float Cody-Waite loses accuracy for |x| > ~1e4. */
#ifndef SB_ISA_SCALAR_H
#define SB_ISA_SCALAR_H
#include "../sb_common.h"

#define SB_ISA scalar
#define SB_W 1

typedef float vf;

static inline vf v_load(const float *p) { return *p; }
static inline void v_store(float *p, vf v) { *p = v; }
/* Portable C has no non-temporal store: the "nt" variant stores normally in scalar code. */
static inline void v_stream(float *p, vf v) { *p = v; }
static inline void v_stream_fence(void) {}
#define SB_STREAM_ALIGN 4
/* With one lane there is never a partial vector; these exist so the templates compile. */
static inline vf v_load_tail(const float *p, size_t n) { (void)n; return *p; }
static inline void v_store_tail(float *p, vf v, size_t n) { (void)n; *p = v; }
static inline vf v_set1(float a) { return a; }
static inline vf v_add(vf a, vf b) { return a + b; }
static inline vf v_sub(vf a, vf b) { return a - b; }
static inline vf v_mul(vf a, vf b) { return a * b; }
/* max that returns b when either is NaN, like x86 maxps(a, b) */
static inline vf v_max(vf a, vf b) { return a > b ? a : b; }
/* 1 when every lane of a equals b's (ordered: a NaN lane is never equal). */
static inline int v_all_equal(vf a, vf b) { return a == b; }
static inline vf v_fmadd(vf a, vf b, vf c) { return a * b + c; } /* two roundings: no FMA here */
static inline void v_to_lanes(float *out, vf v) { *out = v; }

static inline float sb_bits_to_float(uint32_t u) { float f; memcpy(&f, &u, sizeof f); return f; }
static inline uint32_t sb_float_to_bits(float f) { uint32_t u; memcpy(&u, &f, sizeof u); return u; }

static inline float sb_exp_poly(float t) {
    float p = SB_EXP_C5;
    p = p * t + SB_EXP_C4;
    p = p * t + SB_EXP_C3;
    p = p * t + SB_EXP_C2;
    p = p * t + SB_EXP_C1;
    return p * t + 1.0f;
}

/* The exp's documented accuracy over [ln(FLT_MIN), 0], in float32 ULP, which `softbench verify`
 * and the tests check: rr2 (two ln2 constants) and the degree-5 minimax measure about 2 ULP. */
#define SB_EXP_MAX_ULP 3.0f

/* exp(x) for x <= 0: 0 below SB_EXP_CUTOFF (and for -inf), NaN for NaN. The magic bias puts
 * n + 127 in the low bits of v, so 2^n is those bits shifted into the exponent field. */
static inline vf v_exp_nonpos(vf x) {
    const float magic = 0x1.8p23f + 127.0f;
    float v = x * SB_LOG2E + magic;
    float s = sb_bits_to_float(sb_float_to_bits(v) << 23);
    float n = v - magic;
    float t = x - n * SB_LN2_HI_CW;
    t = t - n * SB_LN2_LO_CW;
    float r = sb_exp_poly(t) * s;
    return x < SB_EXP_CUTOFF ? 0.0f : r;
}

/* exp(x) = m * 2^n with m in [~0.7, ~1.42] and n integer-valued, for any x (two-pass), x clamped
 * below at SB_EXT_X_MASK. */
static inline vf v_ext_n(vf x) {
    float xc = x < SB_EXT_X_MASK ? SB_EXT_X_MASK : x; /* NaN passes through */
    const double magic = 0x1.8p52;
    return (float)(((double)xc * 0x1.71547652b82fep0 + magic) - magic);
}
static inline vf v_ext_m(vf x, vf n) {
    float xc = x < SB_EXT_X_MASK ? SB_EXT_X_MASK : x;
    return sb_exp_poly((float)((double)xc - (double)n * 0x1.62e42fefa39efp-1));
}

/* a * 2^k for integer-valued k <= 0 (0 when k < -126 or k = -inf; magic bias, as in avx2.h). */
static inline vf v_scale(vf a, vf k) {
    float kc = k > -127.0f ? k : -127.0f; /* also maps NaN to -127: a NaN in a stays NaN */
    return a * sb_bits_to_float(sb_float_to_bits(kc + (0x1.8p23f + 127.0f)) << 23);
}

#endif
