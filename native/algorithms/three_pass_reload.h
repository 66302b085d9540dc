/* Three-Pass with reloading (the production form: XNNPACK's operator, oneDNN): max; exp stored
 * into y and summed; y scaled in place. Traffic (kernels.def): reads x 2x and y once, writes y
 * twice; 1 exp/element. */
static void SB_FN(three_pass_reload)(size_t n, const float *x, float *y) {
    if (n == 0) return;
    float max = SB_FN(pass_max)(n, x);
    double sum = SB_FN(pass_sumexp)(n, x, y, max);
    SB_FN(pass_scale)(n, y, (float)(1.0 / sum));
}
