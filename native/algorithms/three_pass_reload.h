/* Three-Pass with reloading (the production form: XNNPACK's operator, oneDNN): max; exp stored
 * into y and summed; y scaled in place. Traffic (kernels.def): reads x 2x and y once, writes y
 * twice; 1 exp/element. */
/* Its passes, in order (see SB_PASS in instantiate.h). */
#define SB_PASSES_three_pass_reload(SB_PASS, alg)                                                \
    SB_PASS(alg, "max",       pass_max,      pass_max,         pass_max,      pass_max,         4, 0, 0, SB_MERGE_MAX) \
    SB_PASS(alg, "store-exp", pass_storeexp, pass_storeexp_nt, twin_copy_sum, twin_copy_sum_nt, 4, 0, 4, SB_MERGE_SUM) \
    SB_PASS(alg, "scale",     pass_scale,    pass_scale_nt,    pass_scale,    pass_scale_nt,    0, 4, 4, SB_MERGE_NONE)
