/* Two-Pass with extended exponents (Dukhan & Ablavatski 2020, Alg. 3): no max pass. Pass 1 sums
 * exp(x_i) = m_i * 2^n_i as a pair (M, E) per lane and accumulator, rescaling by exact powers of
 * two; pass 2 recomputes (m_i, n_i) and writes y_i = (m_i / M) * 2^(n_i - E).
 * Traffic (kernels.def): reads x 2x, writes y once; 2 exps/element. */

/* (M, E) += m * 2^n, lane-wise. */
static inline void SB_FN(ext_update)(vf *M, vf *E, vf m, vf n) {
    vf e_new = v_max(*E, n);
    *M = v_add(v_scale(*M, v_sub(*E, e_new)), v_scale(m, v_sub(n, e_new)));
    *E = e_new;
}

/* Lanes of (M, E) into the per-lane double pairs, then M reset; E is kept so the next block
 * accumulates at the same exponent and the flush stays a plain add. */
static inline void SB_FN(ext_flush)(double *Md, double *Ed, vf *M, vf E) {
    float m[SB_W], e[SB_W];
    v_to_lanes(m, *M);
    v_to_lanes(e, E);
    for (int l = 0; l < SB_W; l++) sb_ext_accumulate(&Md[l], &Ed[l], (double)m[l], (double)e[l]);
    *M = v_set1(0.0f);
}

/* Pass "sum": (st->sum, st->sum_exp) = sum of exp(x_i) as mantissa and exponent. */
static void SB_FN(two_pass_sum)(size_t n, const float *x, float *y, sb_state *st) {
    (void)y;
    vf M[SB_UNROLL], E[SB_UNROLL];
    for (int u = 0; u < SB_UNROLL; u++) { M[u] = v_set1(0.0f); E[u] = v_set1(-INFINITY); }
    double Md[SB_W], Ed[SB_W];
    for (int l = 0; l < SB_W; l++) { Md[l] = 0.0; Ed[l] = -INFINITY; }

    size_t i = 0;
    while (i + SB_VEC <= n) {
        size_t block_end = n - i >= (size_t)SB_BLOCK_ITERS * SB_VEC ? i + (size_t)SB_BLOCK_ITERS * SB_VEC : n;
        for (; i + SB_VEC <= block_end; i += SB_VEC) {
            for (int u = 0; u < SB_UNROLL; u++) {
                vf m, e;
                v_exp_ext(v_load(x + i + u * SB_W), &m, &e);
                SB_FN(ext_update)(&M[u], &E[u], m, e);
            }
        }
        for (int u = 0; u < SB_UNROLL; u++) SB_FN(ext_flush)(Md, Ed, &M[u], E[u]);
    }
    for (; i + SB_W <= n; i += SB_W) {
        vf m, e;
        v_exp_ext(v_load(x + i), &m, &e);
        SB_FN(ext_update)(&M[0], &E[0], m, e);
    }
    if (i < n) {
        vf m, e;
        v_exp_ext(v_load_tail(x + i, n - i), &m, &e);
        SB_FN(ext_update)(&M[0], &E[0], m, e);
    }
    SB_FN(ext_flush)(Md, Ed, &M[0], E[0]);

    double sum_m = 0.0, sum_e = -INFINITY;
    for (int l = 0; l < SB_W; l++) sb_ext_accumulate(&sum_m, &sum_e, Md[l], Ed[l]);
    st->sum = sum_m;
    st->sum_exp = sum_e;
}

/* Pass "output": y_i = (m_i / M) * 2^(n_i - E), with (m_i, n_i) recomputed from x_i. */
static void SB_FN(two_pass_output)(size_t n, const float *x, float *y, sb_state *st) {
    /* sum = M * 2^E; M >= ~0.7 unless every input was masked (then 0 -> NaN out). */
    const vf inv = v_set1((float)(1.0 / st->sum));
    const vf emax = v_set1(st->sum == 0.0 ? 0.0f : (float)st->sum_exp);

    size_t i = 0;
    for (; i + SB_VEC <= n; i += SB_VEC) {
        for (int u = 0; u < SB_UNROLL; u++) {
            vf m, e;
            v_exp_ext(v_load(x + i + u * SB_W), &m, &e);
            v_store(y + i + u * SB_W, v_scale(v_mul(m, inv), v_sub(e, emax)));
        }
    }
    for (; i + SB_W <= n; i += SB_W) {
        vf m, e;
        v_exp_ext(v_load(x + i), &m, &e);
        v_store(y + i, v_scale(v_mul(m, inv), v_sub(e, emax)));
    }
    if (i < n) {
        vf m, e;
        v_exp_ext(v_load_tail(x + i, n - i), &m, &e);
        v_store_tail(y + i, v_scale(v_mul(m, inv), v_sub(e, emax)), n - i);
    }
}

static void SB_FN(two_pass)(size_t n, const float *x, float *y) {
    if (n == 0) return;
    sb_state st;
    SB_FN(two_pass_sum)(n, x, y, &st);
    SB_FN(two_pass_output)(n, x, y, &st);
}

#define SB_PASSES_two_pass                                                                    \
    {"two-pass", "sum", SB_FN(two_pass_sum), SB_FN(twin_sum), 4, 0, 0},                       \
    {"two-pass", "output", SB_FN(two_pass_output), SB_FN(twin_scale), 4, 0, 4},
