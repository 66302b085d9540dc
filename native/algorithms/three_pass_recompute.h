/* Three-Pass with recomputing (Dukhan & Ablavatski 2020, Alg. 1): max; sum of exp (nothing
 * stored); exp again, scaled. Traffic (kernels.def): reads x 3x, writes y once; 2 exps/element. */
static inline void SB_FN(three_pass_recompute_impl)(size_t n, const float *x, float *y, const int nt) {
    if (n == 0) return;
    sb_state st;
    SB_FN(pass_max)(n, x, y, &st);
    SB_FN(pass_sumexp)(n, x, y, &st);
    SB_FN(expscale)(n, x, y, &st, nt);
}
SB_DEFINE_VARIANTS(three_pass_recompute)

#define SB_PASSES_three_pass_recompute                                                        \
    {"three-pass-recompute", "max", SB_FN(pass_max), SB_FN(pass_max), 4, 0, 0,                \
     SB_FN(pass_max), SB_FN(pass_max), SB_MERGE_MAX},                                         \
    {"three-pass-recompute", "sum-exp", SB_FN(pass_sumexp), SB_FN(twin_sum), 4, 0, 0,         \
     SB_FN(pass_sumexp), SB_FN(twin_sum), SB_MERGE_SUM},                                      \
    {"three-pass-recompute", "exp-scale", SB_FN(pass_expscale), SB_FN(twin_scale), 4, 0, 4,   \
     SB_FN(pass_expscale_nt), SB_FN(twin_scale_nt), SB_MERGE_NONE},
