/* Online normalizer softmax (Milakov & Gimelshein 2018): pass 1 keeps a running max m and a sum d
 * rescaled when the max grows, d' = d * exp(m - m') + exp(x_i - m'); pass 2 as in three-pass
 * recomputing. Vectorised per unrolled group: the group's max updates m once and the rescale costs
 * one exp per SB_UNROLL vectors, only in the groups where some lane's max grew. The SB_ACC partial
 * sums d[a] share m; vector u adds into d[u % SB_ACC].
 * Traffic (kernels.def): reads x 2x, writes y once. */

/* The lanes' (m, d) added into the double pair (*mref, *dsum), then d reset: each lane's d is
 * rescaled to the lanes' largest m by the ISA's exp (exactly 1 for the lanes at that max), the
 * lanes are added in double, and the pair takes that one term: one double exp per block at most,
 * not one per lane. A NaN (a NaN or +inf input) keeps the sum NaN. */
static inline void SB_FN(online_flush)(double *mref, double *dsum, vf m, vf *d) {
    for (int a = 1; a < SB_ACC; a++) d[0] = v_add(d[0], d[a]);
    const float m_top = SB_FN(hmax)(m);
    double s = 0.0;
    SB_FN(flush_sum)(&s, v_mul(d[0], v_exp_nonpos(v_sub(m, v_set1(m_top)))));
    sb_online_accumulate(mref, dsum, (double)m_top, s);
    for (int a = 0; a < SB_ACC; a++) d[a] = v_set1(0.0f);
}

/* Pass "sum": st->max and st->sum = sum exp(x_i - st->max), in one pass over x. */
static void SB_FN(online_sum)(size_t n, const float *x, float *y, sb_state *st) {
    (void)y;
    /* -FLT_MAX rather than -inf: exp(m - m') must be 1, not exp(NaN), while a lane sees only -inf. */
    vf m = v_set1(-FLT_MAX);
    vf d[SB_ACC];
    for (int a = 0; a < SB_ACC; a++) d[a] = v_set1(0.0f);
    double mref = -FLT_MAX, dsum = 0.0;

    size_t i = 0;
    while (i + SB_VEC <= n) {
        size_t block_end = n - i >= (size_t)SB_BLOCK_ITERS * SB_VEC ? i + (size_t)SB_BLOCK_ITERS * SB_VEC : n;
        for (; i + SB_VEC <= block_end; i += SB_VEC) {
            SB_FN(prefetch)(x + i);
            vf xs[SB_UNROLL];
            xs[0] = v_load(x + i);
            vf gmax = xs[0];
            for (int u = 1; u < SB_UNROLL; u++) {
                xs[u] = v_load(x + i + u * SB_W);
                gmax = v_max(gmax, xs[u]);
            }
            vf m_new = v_max(m, gmax);
            if (v_all_equal(m_new, m)) {
                /* No lane's max moved (most groups, past the first few): the rescale would be
                 * exp(0) = 1 exactly, and fma(d, 1, e) = d + e, so skipping its exp changes no bit. */
                for (int u = 0; u < SB_UNROLL; u++) d[u % SB_ACC] = v_add(d[u % SB_ACC], v_exp_nonpos(v_sub(xs[u], m)));
            } else {
                /* Each accumulator is rescaled once, by the first vector that adds into it
                 * (u < SB_ACC); the later ones only add. With SB_ACC == SB_UNROLL (the default
                 * tiles) every u rescales, as before tiles existed. */
                vf rescale = v_exp_nonpos(v_sub(m, m_new));
                for (int u = 0; u < SB_UNROLL; u++) {
                    vf e = v_exp_nonpos(v_sub(xs[u], m_new));
                    if (u < SB_ACC) d[u] = v_fmadd(d[u], rescale, e);
                    else d[u % SB_ACC] = v_add(d[u % SB_ACC], e);
                }
                m = m_new;
            }
        }
        SB_FN(online_flush)(&mref, &dsum, m, d);
    }
    for (; i + SB_W <= n; i += SB_W) {
        vf xv = v_load(x + i);
        vf m_new = v_max(m, xv);
        d[0] = v_fmadd(d[0], v_exp_nonpos(v_sub(m, m_new)), v_exp_nonpos(v_sub(xv, m_new)));
        m = m_new;
    }
    if (i < n) {
        vf xv = v_load_tail(x + i, n - i);
        vf m_new = v_max(m, xv);
        d[0] = v_fmadd(d[0], v_exp_nonpos(v_sub(m, m_new)), v_exp_nonpos(v_sub(xv, m_new)));
        m = m_new;
    }
    SB_FN(online_flush)(&mref, &dsum, m, d);

    st->max = (float)mref;
    st->sum = dsum;
}

/* Its passes, in order (the kernel, its twin and its rows of the pass table are generated from
 * this list by instantiate.h; columns as in SB_PASS there). */
#define SB_PASSES_online(SB_PASS, alg)                                                           \
    SB_PASS(alg, "sum",       online_sum,    online_sum,       twin_sum,   twin_sum,      4, 0, 0, SB_MERGE_ONLINE) \
    SB_PASS(alg, "exp-scale", pass_expscale, pass_expscale_nt, twin_scale, twin_scale_nt, 4, 0, 4, SB_MERGE_NONE)
