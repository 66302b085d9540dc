/* Three-Pass with reloading (the production form: XNNPACK's operator, oneDNN): max; exp stored
 * into y and summed; y scaled in place. Traffic (kernels.def): reads x 2x and y once, writes y
 * twice; 1 exp/element. */
static inline void SB_FN(three_pass_reload_impl)(size_t n, const float *x, float *y, const int nt) {
    if (n == 0) return;
    sb_state st;
    SB_FN(pass_max)(n, x, y, &st);
    st.sum = SB_FN(sumexp)(n, x, y, st.max, 1, nt);
    SB_FN(scale)(n, y, &st, nt);
}
SB_DEFINE_VARIANTS(three_pass_reload)

#define SB_PASSES_three_pass_reload                                                           \
    {"three-pass-reload", "max", SB_FN(pass_max), SB_FN(pass_max), 4, 0, 0,                   \
     SB_FN(pass_max), SB_FN(pass_max), SB_MERGE_MAX},                                         \
    {"three-pass-reload", "store-exp", SB_FN(pass_storeexp), SB_FN(twin_copy_sum), 4, 0, 4,   \
     SB_FN(pass_storeexp_nt), SB_FN(twin_copy_sum_nt), SB_MERGE_SUM},                         \
    {"three-pass-reload", "scale", SB_FN(pass_scale), SB_FN(pass_scale), 0, 4, 4,             \
     SB_FN(pass_scale_nt), SB_FN(pass_scale_nt), SB_MERGE_NONE},
