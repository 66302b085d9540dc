/* Three-Pass with recomputing (Dukhan & Ablavatski 2020, Alg. 1): max; sum of exp (nothing
 * stored); exp again, scaled. Traffic (kernels.def): reads x 3x, writes y once; 2 exps/element. */
static void SB_FN(three_pass_recompute)(size_t n, const float *x, float *y) {
    if (n == 0) return;
    float max = SB_FN(pass_max)(n, x);
    double sum = SB_FN(pass_sumexp)(n, x, NULL, max);
    SB_FN(pass_expscale)(n, x, y, max, (float)(1.0 / sum));
}
