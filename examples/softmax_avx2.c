/* A softmax with AVX2 + FMA, 8 floats per vector, with a masked tail: three passes, keeping the
 * exponentials in y and rescaling them in place (the "reloading" form).
 *
 *   pass 1: m = max(x)                            reads x
 *   pass 2: y[i] = exp(x[i] - m), s = sum y[i]    reads x, writes y
 *   pass 3: y[i] *= 1 / s                         reads y, writes y
 *
 * so its traffic is declared as passes "r, rw, yw":
 *
 *   softbench run --kernel examples/softmax_avx2.c:softmax_avx2@avx2 --kernel-passes "r, rw, yw"
 *
 * @avx2 compiles it with softbench's AVX2 flags (-mavx2 -mfma); the last n % 8 elements go
 * through masked loads and stores (vmaskmovps), which never touch memory past the row. */
#include <immintrin.h>
#include <math.h>
#include <stddef.h>

/* lanes 0..k-1 on, for a tail of k < 8 elements */
static inline __m256i tail_mask(size_t k) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* the k elements at p, the other lanes set to `fill` */
static inline __m256 load_tail(const float *p, size_t k, float fill) {
    __m256i on = tail_mask(k);
    return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, on), _mm256_castsi256_ps(on));
}

/* exp(t) for t <= 0: t = k ln2 + r with |r| <= ln2/2, exp(r) by its Taylor series to r^6
 * (truncation error below 2e-7), times 2^k built in the exponent bits. Below -87.33, where 2^k
 * would no longer be a normal float, and for -inf, the result is 0; NaN stays NaN. */
static inline __m256 exp_nonpos(__m256 t) {
    const __m256 k = _mm256_round_ps(_mm256_mul_ps(t, _mm256_set1_ps(1.44269504f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693145752f), t);     /* ln2, high bits */
    r = _mm256_fnmadd_ps(k, _mm256_set1_ps(1.42860677e-6f), r);          /* ln2, the rest */
    __m256 p = _mm256_set1_ps(1.0f / 720.0f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
    const __m256 e = _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
    const __m256 tiny = _mm256_cmp_ps(t, _mm256_set1_ps(-87.33f), _CMP_LT_OQ);
    return _mm256_andnot_ps(tiny, e);
}

/* the 8 lanes of v added into the two double accumulators */
static inline void add_to(__m256d *lo, __m256d *hi, __m256 v) {
    *lo = _mm256_add_pd(*lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
    *hi = _mm256_add_pd(*hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}

void softmax_avx2(size_t n, const float *x, float *y) {
    if (n == 0) return;
    const size_t body = n & ~(size_t)7, k = n - body;

    __m256 vmax = _mm256_set1_ps(-INFINITY);
    for (size_t i = 0; i < body; i += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(x + i));
    if (k) vmax = _mm256_max_ps(vmax, load_tail(x + body, k, -INFINITY));
    float lanes[8];
    _mm256_storeu_ps(lanes, vmax);
    float m = lanes[0];
    for (int l = 1; l < 8; l++) m = lanes[l] > m ? lanes[l] : m;

    /* float partial sums for at most 64 vectors, then into double: the sum's error stays at
     * float's precision however long the row */
    const __m256 vm = _mm256_set1_ps(m);
    __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
    size_t i = 0;
    while (i < body) {
        const size_t end = body - i > 64 * 8 ? i + 64 * 8 : body;
        __m256 acc = _mm256_setzero_ps();
        for (; i < end; i += 8) {
            const __m256 e = exp_nonpos(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
            _mm256_storeu_ps(y + i, e);
            acc = _mm256_add_ps(acc, e);
        }
        add_to(&lo, &hi, acc);
    }
    if (k) {
        const __m256i on = tail_mask(k);
        const __m256 e = _mm256_and_ps(exp_nonpos(_mm256_sub_ps(load_tail(x + body, k, -INFINITY), vm)),
                                       _mm256_castsi256_ps(on));
        _mm256_maskstore_ps(y + body, on, e);
        add_to(&lo, &hi, e);
    }
    double sums[4];
    _mm256_storeu_pd(sums, _mm256_add_pd(lo, hi));
    const __m256 scale = _mm256_set1_ps((float)(1.0 / (sums[0] + sums[1] + sums[2] + sums[3])));

    for (size_t j = 0; j < body; j += 8) _mm256_storeu_ps(y + j, _mm256_mul_ps(_mm256_loadu_ps(y + j), scale));
    if (k) {
        const __m256i on = tail_mask(k);
        _mm256_maskstore_ps(y + body, on, _mm256_mul_ps(_mm256_maskload_ps(y + body, on), scale));
    }
}
