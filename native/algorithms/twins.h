/* Traffic twins (measurement.md): for each algorithm, a kernel with the same passes, the same
 * loads and stores (vector width, unroll, accumulators, store kind) and trivial arithmetic. Its time at a given
 * n is that algorithm's memory floor on this machine; efficiency = twin time / kernel time. Here
 * are the twins of the passes; each algorithm's twin, which runs the twins of its passes in order,
 * is generated from its pass list (SB_PASSES_<ident>) by instantiate.h.
 * Also the STREAM-style read, write, copy and scale kernels, for comparison with the literature. */

/* read x, add: the twin of a "sum of exp" pass that stores nothing */
static void SB_FN(twin_sum)(size_t n, const float *x, float *y, sb_state *st) {
    (void)y;
    vf acc[SB_ACC];
    for (int a = 0; a < SB_ACC; a++) acc[a] = v_set1(0.0f);
    size_t i = 0;
    for (; i + SB_VEC <= n; i += SB_VEC)
        for (int u = 0; u < SB_UNROLL; u++) acc[u % SB_ACC] = v_add(acc[u % SB_ACC], v_load(x + i + u * SB_W));
    for (; i + SB_W <= n; i += SB_W) acc[0] = v_add(acc[0], v_load(x + i));
    if (i < n) acc[0] = v_add(acc[0], v_max(v_load_tail(x + i, n - i), v_set1(0.0f)));
    for (int a = 1; a < SB_ACC; a++) acc[0] = v_add(acc[0], acc[a]);
    double total = 1.0; /* a sum of 1.0 + x: never 0, so the scale that follows is finite */
    SB_FN(flush_sum)(&total, acc[0]);
    st->sum = total;
}

/* read x, write y = x, add: the twin of the reloading variant's "store exp and sum" pass */
static inline void SB_FN(copy_sum)(size_t n, const float *x, float *y, sb_state *st, const int nt) {
    vf acc[SB_ACC];
    for (int a = 0; a < SB_ACC; a++) acc[a] = v_set1(0.0f);
    size_t i = SB_FN(stream_head)(y, n, nt);
    if (i) {
        vf v = v_load_tail(x, i);
        v_store_tail(y, v, i);
        acc[0] = v_max(v, v_set1(0.0f));
    }
    for (; i + SB_VEC <= n; i += SB_VEC)
        for (int u = 0; u < SB_UNROLL; u++) {
            vf v = v_load(x + i + u * SB_W);
            SB_FN(store_y)(y + i + u * SB_W, v, nt);
            acc[u % SB_ACC] = v_add(acc[u % SB_ACC], v);
        }
    for (; i + SB_W <= n; i += SB_W) {
        vf v = v_load(x + i);
        SB_FN(store_y)(y + i, v, nt);
        acc[0] = v_add(acc[0], v);
    }
    if (i < n) {
        vf v = v_load_tail(x + i, n - i);
        v_store_tail(y + i, v, n - i);
        acc[0] = v_add(acc[0], v_max(v, v_set1(0.0f)));
    }
    for (int a = 1; a < SB_ACC; a++) acc[0] = v_add(acc[0], acc[a]);
    double total = 1.0; /* a sum of 1.0 + x: never 0, so the scale that follows is finite */
    SB_FN(flush_sum)(&total, acc[0]);
    st->sum = total;
    if (nt) v_stream_fence();
}
static SB_PASS_INLINE void SB_FN(twin_copy_sum)(size_t n, const float *x, float *y, sb_state *st) { SB_FN(copy_sum)(n, x, y, st, 0); }
static SB_PASS_INLINE void SB_FN(twin_copy_sum_nt)(size_t n, const float *x, float *y, sb_state *st) { SB_FN(copy_sum)(n, x, y, st, 1); }

/* read x, write y = x / st->sum: the twin of an "exp and scale" pass */
static inline void SB_FN(scale_copy)(size_t n, const float *x, float *y, const sb_state *st, const int nt) {
    const vf vc = v_set1((float)(1.0 / st->sum));
    size_t i = SB_FN(stream_head)(y, n, nt);
    if (i) v_store_tail(y, v_mul(v_load_tail(x, i), vc), i);
    for (; i + SB_VEC <= n; i += SB_VEC)
        for (int u = 0; u < SB_UNROLL; u++) SB_FN(store_y)(y + i + u * SB_W, v_mul(v_load(x + i + u * SB_W), vc), nt);
    for (; i + SB_W <= n; i += SB_W) SB_FN(store_y)(y + i, v_mul(v_load(x + i), vc), nt);
    if (i < n) v_store_tail(y + i, v_mul(v_load_tail(x + i, n - i), vc), n - i);
    if (nt) v_stream_fence();
}
static SB_PASS_INLINE void SB_FN(twin_scale)(size_t n, const float *x, float *y, sb_state *st) { SB_FN(scale_copy)(n, x, y, st, 0); }
static SB_PASS_INLINE void SB_FN(twin_scale_nt)(size_t n, const float *x, float *y, sb_state *st) { SB_FN(scale_copy)(n, x, y, st, 1); }

/* STREAM-style kernels, same signature as the softmax kernels. */
static void SB_FN(stream_read)(size_t n, const float *x, float *y) {
    sb_state st;
    SB_FN(twin_sum)(n, x, y, &st);
    y[0] = (float)st.sum;
}

static void SB_FN(stream_write)(size_t n, const float *x, float *y) {
    const vf v = v_set1(x[0]);
    size_t i = 0;
    for (; i + SB_VEC <= n; i += SB_VEC)
        for (int u = 0; u < SB_UNROLL; u++) v_store(y + i + u * SB_W, v);
    for (; i + SB_W <= n; i += SB_W) v_store(y + i, v);
    if (i < n) v_store_tail(y + i, v, n - i);
}

static void SB_FN(stream_copy)(size_t n, const float *x, float *y) {
    sb_state st = {.sum = 1.0};
    SB_FN(scale_copy)(n, x, y, &st, 0);
}

static void SB_FN(stream_scale)(size_t n, const float *x, float *y) {
    sb_state st = {.sum = 1.0 / 3.0};
    SB_FN(scale_copy)(n, x, y, &st, 0);
}
