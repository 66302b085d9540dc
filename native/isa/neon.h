/* NEON (AArch64 Advanced SIMD), 4 lanes. AArch64 has FMA and round-to-nearest, so the exp is the
 * same as AVX2's; tails go through a small stack buffer. */
#ifndef SB_ISA_NEON_H
#define SB_ISA_NEON_H
#include <arm_neon.h>
#include "../sb_common.h"

#define SB_ISA neon
#define SB_W 4

typedef float32x4_t vf;

static inline vf v_load(const float *p) { return vld1q_f32(p); }
static inline void v_store(float *p, vf v) { vst1q_f32(p, v); }
/* ACLE has no non-temporal vector store intrinsic: the "nt" variant stores normally on NEON. */
static inline void v_stream(float *p, vf v) { vst1q_f32(p, v); }
static inline void v_stream_fence(void) {}
#define SB_STREAM_ALIGN 16
static inline vf v_load_tail(const float *p, size_t n) {
    float buf[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    memcpy(buf, p, n * sizeof(float));
    return vld1q_f32(buf);
}
static inline void v_store_tail(float *p, vf v, size_t n) {
    float buf[4];
    vst1q_f32(buf, v);
    memcpy(p, buf, n * sizeof(float));
}
static inline vf v_set1(float a) { return vdupq_n_f32(a); }
static inline vf v_add(vf a, vf b) { return vaddq_f32(a, b); }
static inline vf v_sub(vf a, vf b) { return vsubq_f32(a, b); }
static inline vf v_mul(vf a, vf b) { return vmulq_f32(a, b); }
static inline vf v_max(vf a, vf b) { return vmaxq_f32(a, b); } /* NaN-propagating */
/* 1 when every lane of a equals b's (ordered: a NaN lane is never equal). */
static inline int v_all_equal(vf a, vf b) { return vminvq_u32(vceqq_f32(a, b)) == 0xFFFFFFFFu; }
static inline vf v_fmadd(vf a, vf b, vf c) { return vfmaq_f32(c, a, b); }
static inline void v_to_lanes(float *out, vf v) { vst1q_f32(out, v); }

static inline vf sb_neon_poly(vf t) {
    vf p = vfmaq_f32(vdupq_n_f32(SB_EXP_C4), vdupq_n_f32(SB_EXP_C5), t);
    p = vfmaq_f32(vdupq_n_f32(SB_EXP_C3), p, t);
    p = vfmaq_f32(vdupq_n_f32(SB_EXP_C2), p, t);
    p = vfmaq_f32(vdupq_n_f32(SB_EXP_C1), p, t);
    return vfmaq_f32(vdupq_n_f32(1.0f), p, t);
}

/* The exp's documented accuracy over [ln(FLT_MIN), 0], in float32 ULP, which `softbench verify`
 * and the tests check: rr2 (two ln2 constants) and the degree-5 minimax measure about 2 ULP. */
#define SB_EXP_MAX_ULP 3.0f

/* exp(x) for x <= 0: 0 below SB_EXP_CUTOFF (and for -inf), NaN for NaN. */
static inline vf v_exp_nonpos(vf x) {
    const vf magic = vdupq_n_f32(0x1.8p23f + 127.0f);
    vf v = vfmaq_f32(magic, x, vdupq_n_f32(SB_LOG2E));
    vf s = vreinterpretq_f32_s32(vshlq_n_s32(vreinterpretq_s32_f32(v), 23));
    vf n = vsubq_f32(v, magic);
    vf t = vfmsq_f32(x, n, vdupq_n_f32(SB_LN2_HI));
    t = vfmsq_f32(t, n, vdupq_n_f32(SB_LN2_LO));
    vf r = vmulq_f32(sb_neon_poly(t), s);
    uint32x4_t below = vcltq_f32(x, vdupq_n_f32(SB_EXP_CUTOFF));
    return vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(r), below));
}

/* exp(x) = m * 2^n for any x (two-pass); FMA reduction accurate for |x| up to 2^20. */
static inline vf v_ext_n(vf x) {
    vf xc = vmaxq_f32(vdupq_n_f32(SB_EXT_X_MASK), x); /* vmaxq propagates NaN */
    return vrndnq_f32(vmulq_f32(xc, vdupq_n_f32(SB_LOG2E)));
}
static inline vf v_ext_m(vf x, vf n) {
    vf xc = vmaxq_f32(vdupq_n_f32(SB_EXT_X_MASK), x);
    vf t = vfmsq_f32(xc, n, vdupq_n_f32(SB_LN2_HI));
    t = vfmsq_f32(t, n, vdupq_n_f32(SB_LN2_LO));
    return sb_neon_poly(t);
}

/* a * 2^k for integer-valued k <= 0; 0 when k < -126 or k = -inf (magic bias, as in avx2.h). */
static inline vf v_scale(vf a, vf k) {
    vf biased = vaddq_f32(vmaxq_f32(k, vdupq_n_f32(-127.0f)), vdupq_n_f32(0x1.8p23f + 127.0f));
    return vmulq_f32(a, vreinterpretq_f32_s32(vshlq_n_s32(vreinterpretq_s32_f32(biased), 23)));
}

#endif
