/* Passes shared by several algorithms, written once over the ISA primitives (v_*).
 * Included by each ISA module after its isa/<isa>.h; names get the ISA suffix through SB_FN. */
#ifndef SB_FN
#define SB_FN(name) SB_CONCAT(SB_CONCAT(sb_, name), SB_CONCAT(__, SB_ISA))
#endif

/* The tile (native/tiles.def): SB_UNROLL vectors per unrolled iteration, SB_ACC accumulators in
 * the reducing loops, vector u adding into acc[u % SB_ACC]. Both come from the build
 * (softbench/bridge/build.py flags_for), so a module cannot silently get another tile's shape. */
#if !defined(SB_UNROLL) || !defined(SB_ACC)
#error "compile with -DSB_UNROLL=<vectors> -DSB_ACC=<accumulators> (a row of native/tiles.def)"
#endif
#if SB_UNROLL < 1 || SB_ACC < 1 || SB_ACC > SB_UNROLL || SB_UNROLL % SB_ACC != 0
#error "SB_ACC must divide SB_UNROLL (native/tiles.def)"
#endif

#define SB_VEC (SB_W * SB_UNROLL)

/* Software prefetch of the input SB_PREFETCH floats ahead, one per cache line an unrolled
 * iteration reads. Only the passes that compute exps use it: they leave the hardware prefetcher
 * behind far out of cache (two-pass 13% faster at 2^25 on Zen 3), while the plain streaming passes
 * and the twins were measured slower with it (the twins must stay the best floor). */
#define SB_PREFETCH 2048
static inline void SB_FN(prefetch)(const float *p) {
    for (int l = 0; l < (SB_VEC * 4 + 63) / 64; l++) __builtin_prefetch(p + SB_PREFETCH + 16 * l);
}

/* exp(x) = m * 2^n, the extended-exponent form, from the ISA's two halves: n = v_ext_n(x) alone is
 * what the two-pass sum needs first (to raise the shared exponent), m = v_ext_m(x, n) after. */
static inline void v_exp_ext(vf x, vf *m, vf *n) {
    *n = v_ext_n(x);
    *m = v_ext_m(x, *n);
}

/* Input size (bytes) from which the size-selected kernels use non-temporal output stores. SIZE_MAX
 * (never) until the caller that runs the kernels sets its store policy (build.use_store_policy,
 * from this machine's last-level cache); loading a module sets nothing. */
size_t SB_FN(nt_min_bytes) = SIZE_MAX;

/* Horizontal max of the lanes (NaN may or may not survive: a NaN input poisons the sum anyway). */
static inline float SB_FN(hmax)(vf v) {
    float lanes[SB_W];
    v_to_lanes(lanes, v);
    float m = lanes[0];
    for (int i = 1; i < SB_W; i++) m = lanes[i] > m ? lanes[i] : m;
    return m;
}

/* Lanes of v added into a double. */
static inline void SB_FN(flush_sum)(double *total, vf v) {
    float lanes[SB_W];
    v_to_lanes(lanes, v);
    for (int i = 0; i < SB_W; i++) *total += (double)lanes[i];
}

/* Output stores: normal, or non-temporal (the "nt" variants, for rows far out of cache: no
 * read-for-ownership, and the output does not evict the input). `nt` is a compile-time constant
 * in every caller, so each pass is compiled twice rather than testing it in its loop. */
static inline void SB_FN(store_y)(float *p, vf v, const int nt) {
    if (nt) v_stream(p, v);
    else v_store(p, v);
}

/* Elements to write with one partial vector before y + head is aligned for v_stream (0 if !nt). */
static inline size_t SB_FN(stream_head)(const float *y, size_t n, const int nt) {
    if (!nt) return 0;
    size_t off = (size_t)((uintptr_t)y % SB_STREAM_ALIGN) / sizeof(float);
    size_t head = off ? (size_t)SB_W - off : 0;
    return head < n ? head : n;
}

/* Pass "max": st->max = max(x). Trivial arithmetic: it is its own traffic twin. */
static void SB_FN(pass_max)(size_t n, const float *x, float *y, sb_state *st) {
    (void)y;
    vf acc[SB_ACC];
    for (int a = 0; a < SB_ACC; a++) acc[a] = v_set1(-INFINITY);
    size_t i = 0;
    for (; i + SB_VEC <= n; i += SB_VEC)
        for (int u = 0; u < SB_UNROLL; u++) acc[u % SB_ACC] = v_max(acc[u % SB_ACC], v_load(x + i + u * SB_W));
    for (; i + SB_W <= n; i += SB_W) acc[0] = v_max(acc[0], v_load(x + i));
    if (i < n) acc[0] = v_max(acc[0], v_load_tail(x + i, n - i));
    for (int a = 1; a < SB_ACC; a++) acc[0] = v_max(acc[0], acc[a]);
    st->max = SB_FN(hmax)(acc[0]);
}

/* s = sum exp(x_i - max); with store, also y_i = exp(x_i - max) (the reloading variant).
 * Partial sums are flushed into double every SB_BLOCK_ITERS iterations. Inlined into the two
 * passes below with a constant `store`, so neither tests it in its loop. */
static inline double SB_FN(sumexp)(size_t n, const float *x, float *y, float max, const int store, const int nt) {
    const vf vmax = v_set1(max);
    vf acc[SB_ACC];
    for (int a = 0; a < SB_ACC; a++) acc[a] = v_set1(0.0f);
    double total = 0.0;
    size_t i = store ? SB_FN(stream_head)(y, n, nt) : 0;
    if (i) {
        vf e = v_exp_nonpos(v_sub(v_load_tail(x, i), vmax));
        v_store_tail(y, e, i);
        acc[0] = e;
    }
    while (i + SB_VEC <= n) {
        size_t block_end = n - i >= (size_t)SB_BLOCK_ITERS * SB_VEC ? i + (size_t)SB_BLOCK_ITERS * SB_VEC : n;
        for (; i + SB_VEC <= block_end; i += SB_VEC) {
            SB_FN(prefetch)(x + i);
            for (int u = 0; u < SB_UNROLL; u++) {
                vf e = v_exp_nonpos(v_sub(v_load(x + i + u * SB_W), vmax));
                if (store) SB_FN(store_y)(y + i + u * SB_W, e, nt);
                acc[u % SB_ACC] = v_add(acc[u % SB_ACC], e);
            }
        }
        for (int a = 1; a < SB_ACC; a++) acc[0] = v_add(acc[0], acc[a]);
        SB_FN(flush_sum)(&total, acc[0]);
        for (int a = 0; a < SB_ACC; a++) acc[a] = v_set1(0.0f);
    }
    for (; i + SB_W <= n; i += SB_W) {
        vf e = v_exp_nonpos(v_sub(v_load(x + i), vmax));
        if (store) SB_FN(store_y)(y + i, e, nt);
        acc[0] = v_add(acc[0], e);
    }
    if (i < n) {
        vf e = v_exp_nonpos(v_sub(v_load_tail(x + i, n - i), vmax));
        if (store) v_store_tail(y + i, e, n - i);
        acc[0] = v_add(acc[0], e);
    }
    SB_FN(flush_sum)(&total, acc[0]);
    if (store && nt) v_stream_fence();
    return total;
}

/* Pass "sum-exp": st->sum = sum exp(x_i - st->max), nothing stored. */
static void SB_FN(pass_sumexp)(size_t n, const float *x, float *y, sb_state *st) {
    st->sum = SB_FN(sumexp)(n, x, y, st->max, 0, 0);
}

/* Pass "store-exp": y_i = exp(x_i - st->max) stored, st->sum their sum. The _nt forms of the
 * passes that store (here and below) are what threads run on chunks of a row past the LLC. */
static SB_PASS_INLINE void SB_FN(pass_storeexp)(size_t n, const float *x, float *y, sb_state *st) {
    st->sum = SB_FN(sumexp)(n, x, y, st->max, 1, 0);
}
static SB_PASS_INLINE void SB_FN(pass_storeexp_nt)(size_t n, const float *x, float *y, sb_state *st) {
    st->sum = SB_FN(sumexp)(n, x, y, st->max, 1, 1);
}

/* Pass "exp-scale": y_i = exp(x_i - st->max) / st->sum. */
static inline void SB_FN(expscale)(size_t n, const float *x, float *y, const sb_state *st, const int nt) {
    const vf vmax = v_set1(st->max), vscale = v_set1((float)(1.0 / st->sum));
    size_t i = SB_FN(stream_head)(y, n, nt);
    if (i) v_store_tail(y, v_mul(v_exp_nonpos(v_sub(v_load_tail(x, i), vmax)), vscale), i);
    for (; i + SB_VEC <= n; i += SB_VEC) {
        SB_FN(prefetch)(x + i);
        for (int u = 0; u < SB_UNROLL; u++)
            SB_FN(store_y)(y + i + u * SB_W, v_mul(v_exp_nonpos(v_sub(v_load(x + i + u * SB_W), vmax)), vscale), nt);
    }
    for (; i + SB_W <= n; i += SB_W)
        SB_FN(store_y)(y + i, v_mul(v_exp_nonpos(v_sub(v_load(x + i), vmax)), vscale), nt);
    if (i < n)
        v_store_tail(y + i, v_mul(v_exp_nonpos(v_sub(v_load_tail(x + i, n - i), vmax)), vscale), n - i);
    if (nt) v_stream_fence();
}
static SB_PASS_INLINE void SB_FN(pass_expscale)(size_t n, const float *x, float *y, sb_state *st) { SB_FN(expscale)(n, x, y, st, 0); }
static SB_PASS_INLINE void SB_FN(pass_expscale_nt)(size_t n, const float *x, float *y, sb_state *st) { SB_FN(expscale)(n, x, y, st, 1); }

/* Pass "scale": y_i *= 1 / st->sum, in place. Trivial arithmetic: it is its own twin. */
static inline void SB_FN(scale)(size_t n, float *y, const sb_state *st, const int nt) {
    const vf vscale = v_set1((float)(1.0 / st->sum));
    size_t i = SB_FN(stream_head)(y, n, nt);
    if (i) v_store_tail(y, v_mul(v_load_tail(y, i), vscale), i);
    for (; i + SB_VEC <= n; i += SB_VEC)
        for (int u = 0; u < SB_UNROLL; u++) SB_FN(store_y)(y + i + u * SB_W, v_mul(v_load(y + i + u * SB_W), vscale), nt);
    for (; i + SB_W <= n; i += SB_W) SB_FN(store_y)(y + i, v_mul(v_load(y + i), vscale), nt);
    if (i < n) v_store_tail(y + i, v_mul(v_load_tail(y + i, n - i), vscale), n - i);
    if (nt) v_stream_fence();
}
static SB_PASS_INLINE void SB_FN(pass_scale)(size_t n, const float *x, float *y, sb_state *st) { (void)x; SB_FN(scale)(n, y, st, 0); }
static SB_PASS_INLINE void SB_FN(pass_scale_nt)(size_t n, const float *x, float *y, sb_state *st) { (void)x; SB_FN(scale)(n, y, st, 1); }

/* An algorithm defined as <ident>_impl(n, x, y, nt) gets its three entry points: <ident>_temporal
 * (normal stores), <ident>_nt (non-temporal output stores) and <ident>, which picks by size: nt
 * once the input reaches sb_nt_min_bytes__<isa> (softbench's store policy: build.use_store_policy). */
#define SB_DEFINE_VARIANTS(ident)                                                                 \
    static void SB_FN(ident##_temporal)(size_t n, const float *x, float *y) { SB_FN(ident##_impl)(n, x, y, 0); } \
    static void SB_FN(ident##_nt)(size_t n, const float *x, float *y) { SB_FN(ident##_impl)(n, x, y, 1); }       \
    static void SB_FN(ident)(size_t n, const float *x, float *y) {                                \
        if (n * sizeof(float) >= SB_FN(nt_min_bytes)) SB_FN(ident##_nt)(n, x, y);                 \
        else SB_FN(ident##_temporal)(n, x, y);                                                     \
    }

/* The ISA's exp on its own, over an array, so `verify` can measure its error in ULP. */
void SB_FN(exp_nonpos_array)(size_t n, const float *x, float *y) {
    size_t i = 0;
    for (; i + SB_W <= n; i += SB_W) v_store(y + i, v_exp_nonpos(v_load(x + i)));
    if (i < n) v_store_tail(y + i, v_exp_nonpos(v_load_tail(x + i, n - i)), n - i);
}

/* exp(x) = m * 2^e (two-pass's extended exponent form), over an array. */
void SB_FN(exp_ext_array)(size_t n, const float *x, float *m, float *e) {
    size_t i = 0;
    vf vm, ve;
    for (; i + SB_W <= n; i += SB_W) {
        v_exp_ext(v_load(x + i), &vm, &ve);
        v_store(m + i, vm);
        v_store(e + i, ve);
    }
    if (i < n) {
        v_exp_ext(v_load_tail(x + i, n - i), &vm, &ve);
        v_store_tail(m + i, vm, n - i);
        v_store_tail(e + i, ve, n - i);
    }
}

/* The accuracy the ISA's exps promise (SB_EXP_MAX_ULP beside its exp; SB_EXP_EXT_MAX_ULP in
 * sb_common.h), read by `softbench verify` and the tests, so the claim lives beside the code. */
const float SB_FN(exp_max_ulp) = SB_EXP_MAX_ULP;
const float SB_FN(exp_ext_max_ulp) = SB_EXP_EXT_MAX_ULP;
