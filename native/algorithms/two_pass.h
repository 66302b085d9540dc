/* Two-Pass with extended exponents (Dukhan & Ablavatski 2020, Alg. 3): no max pass. Pass 1 sums
 * exp(x_i) = m_i * 2^n_i as a pair (M, E) per lane and accumulator, rescaling by exact powers of
 * two; pass 2 recomputes (m_i, n_i) and writes y_i = (m_i / M) * 2^(n_i - E).
 * Traffic (kernels.def): reads x 2x, writes y once; 2 exps/element. */

/* The lanes of (M, E) added into the double pair (Md, Ed), then M reset (E is kept, so the next
 * block accumulates at the same exponent). Each lane is scaled to the lanes' largest E by an exact
 * power of two (a lane 127 or more binades below adds under 2^-116 of the sum, with up to 512 terms a lane, and may become 0),
 * the lanes are added in double, and the pair takes that one term: one branchy extended add per
 * block, not one per lane. A NaN lane (a NaN or +inf input) keeps the sum NaN. */
static inline void SB_FN(ext_flush)(double *Md, double *Ed, vf *M, vf E) {
    const float e_top = SB_FN(hmax)(E);
    double m = 0.0;
    SB_FN(flush_sum)(&m, v_scale(*M, v_sub(E, v_set1(e_top))));
    sb_ext_accumulate(Md, Ed, m, (double)e_top);
    *M = v_set1(0.0f);
}

/* Pass "sum": (st->sum, st->sum_exp) = sum of exp(x_i) as mantissa and exponent. The SB_ACC
 * accumulators M[a] share one exponent vector E: each unrolled group raises E to its lanes' largest
 * n once, rescales each accumulator once by 2^(E_old - E) and adds each m * 2^(n - E) of vector u
 * into M[u % SB_ACC], all exact powers of two. Every SB_BLOCK_ITERS groups the lanes are flushed
 * into one double (M, E) pair. */
static void SB_FN(two_pass_sum)(size_t n, const float *x, float *y, sb_state *st) {
    (void)y;
    vf M[SB_ACC];
    for (int a = 0; a < SB_ACC; a++) M[a] = v_set1(0.0f);
    vf E = v_set1(-INFINITY);
    double sum_m = 0.0, sum_e = -INFINITY;

    size_t i = 0;
    while (i + SB_VEC <= n) {
        size_t block_end = n - i >= (size_t)SB_BLOCK_ITERS * SB_VEC ? i + (size_t)SB_BLOCK_ITERS * SB_VEC : n;
        for (; i + SB_VEC <= block_end; i += SB_VEC) {
            SB_FN(prefetch)(x + i);
            /* exponents first, mantissas after: x is loaded twice (from L1) rather than keeping
             * SB_UNROLL more vectors live, which spilled registers */
            vf e[SB_UNROLL];
            for (int u = 0; u < SB_UNROLL; u++) e[u] = v_ext_n(v_load(x + i + u * SB_W));
            vf e_new = E;
            for (int u = 0; u < SB_UNROLL; u++) e_new = v_max(e_new, e[u]);
            if (v_all_equal(e_new, E)) {
                /* No lane's E moved (most groups, past the first few): the rescale would be 2^0 = 1
                 * exactly, and fma(M, 1, s) = M + s, so skipping it changes no bit. */
                for (int u = 0; u < SB_UNROLL; u++)
                    M[u % SB_ACC] = v_add(M[u % SB_ACC], v_scale(v_ext_m(v_load(x + i + u * SB_W), e[u]), v_sub(e[u], E)));
            } else {
                /* Each accumulator is rescaled once, by the first vector that adds into it
                 * (u < SB_ACC); the later ones only add. With SB_ACC == SB_UNROLL (the default
                 * tiles) every u rescales, as before tiles existed. */
                vf rescale = v_scale(v_set1(1.0f), v_sub(E, e_new));
                for (int u = 0; u < SB_UNROLL; u++) {
                    vf s = v_scale(v_ext_m(v_load(x + i + u * SB_W), e[u]), v_sub(e[u], e_new));
                    if (u < SB_ACC) M[u] = v_fmadd(M[u], rescale, s);
                    else M[u % SB_ACC] = v_add(M[u % SB_ACC], s);
                }
                E = e_new;
            }
        }
        for (int a = 1; a < SB_ACC; a++) M[0] = v_add(M[0], M[a]);
        SB_FN(ext_flush)(&sum_m, &sum_e, &M[0], E);
        for (int a = 1; a < SB_ACC; a++) M[a] = v_set1(0.0f);
    }
    for (; i < n; i += SB_W) {
        vf m, e;
        v_exp_ext(n - i >= SB_W ? v_load(x + i) : v_load_tail(x + i, n - i), &m, &e);
        vf e_new = v_max(E, e);
        M[0] = v_fmadd(M[0], v_scale(v_set1(1.0f), v_sub(E, e_new)), v_scale(m, v_sub(e, e_new)));
        E = e_new;
    }
    SB_FN(ext_flush)(&sum_m, &sum_e, &M[0], E);

    /* Every input was -inf (or below the clamp): an empty sum. A NaN sum (a NaN or +inf input) stays
     * NaN, so that a chunk of a row split across threads poisons the merged sum (sb_merge_states). */
    if (sum_e < SB_EXT_E_MASKED && sum_m == sum_m) sum_m = 0.0;
    st->sum = sum_m;
    st->sum_exp = sum_e;
}

/* Pass "output": y_i = (m_i / M) * 2^(n_i - E), with (m_i, n_i) recomputed from x_i. */
static inline vf SB_FN(two_pass_y)(vf xv, vf inv, vf emax) {
    vf m, e;
    v_exp_ext(xv, &m, &e);
    return v_scale(v_mul(m, inv), v_sub(e, emax));
}

static inline void SB_FN(two_pass_out)(size_t n, const float *x, float *y, const sb_state *st, const int nt) {
    /* sum = M * 2^E; M >= ~0.7 for a row with a finite sum. An empty sum (every input masked) or a
     * NaN one (a NaN or +inf input) makes every output NaN through a NaN exponent: a NaN mantissa
     * alone is not enough, since vscalefps scales a NaN by +inf to +inf and by -inf to 0. */
    const int finite_sum = st->sum > 0.0 && st->sum <= DBL_MAX;
    const vf inv = v_set1(finite_sum ? (float)(1.0 / st->sum) : NAN);
    const vf emax = v_set1(finite_sum ? (float)st->sum_exp : NAN);
    size_t i = SB_FN(stream_head)(y, n, nt);
    if (i) v_store_tail(y, SB_FN(two_pass_y)(v_load_tail(x, i), inv, emax), i);
    for (; i + SB_VEC <= n; i += SB_VEC) {
        SB_FN(prefetch)(x + i);
        for (int u = 0; u < SB_UNROLL; u++)
            SB_FN(store_y)(y + i + u * SB_W, SB_FN(two_pass_y)(v_load(x + i + u * SB_W), inv, emax), nt);
    }
    for (; i + SB_W <= n; i += SB_W) SB_FN(store_y)(y + i, SB_FN(two_pass_y)(v_load(x + i), inv, emax), nt);
    if (i < n) v_store_tail(y + i, SB_FN(two_pass_y)(v_load_tail(x + i, n - i), inv, emax), n - i);
    if (nt) v_stream_fence();
}
static SB_PASS_INLINE void SB_FN(two_pass_output)(size_t n, const float *x, float *y, sb_state *st) { SB_FN(two_pass_out)(n, x, y, st, 0); }
static SB_PASS_INLINE void SB_FN(two_pass_output_nt)(size_t n, const float *x, float *y, sb_state *st) { SB_FN(two_pass_out)(n, x, y, st, 1); }

/* Its passes, in order (see SB_PASS in instantiate.h). */
#define SB_PASSES_two_pass(SB_PASS, alg)                                                         \
    SB_PASS(alg, "sum",    two_pass_sum,    two_pass_sum,       twin_sum,   twin_sum,      4, 0, 0, SB_MERGE_EXT) \
    SB_PASS(alg, "output", two_pass_output, two_pass_output_nt, twin_scale, twin_scale_nt, 4, 0, 4, SB_MERGE_NONE)
