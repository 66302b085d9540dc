/* Three-Pass with recomputing (Dukhan & Ablavatski 2020, Alg. 1): max; sum of exp (nothing
 * stored); exp again, scaled. Traffic (kernels.def): reads x 3x, writes y once; 2 exps/element. */
/* Its passes, in order (see SB_PASS in instantiate.h). */
#define SB_PASSES_three_pass_recompute(SB_PASS, alg)                                             \
    SB_PASS(alg, "max",       pass_max,      pass_max,         pass_max,   pass_max,      4, 0, 0, SB_MERGE_MAX) \
    SB_PASS(alg, "sum-exp",   pass_sumexp,   pass_sumexp,      twin_sum,   twin_sum,      4, 0, 0, SB_MERGE_SUM) \
    SB_PASS(alg, "exp-scale", pass_expscale, pass_expscale_nt, twin_scale, twin_scale_nt, 4, 0, 4, SB_MERGE_NONE)
