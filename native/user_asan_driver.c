/* Calls a user's kernel under AddressSanitizer (softbench/bench/user_verify.py: asan_check).
 * Each row is its own heap block of exactly n floats, so any read before or past x[0..n) and any
 * write outside y[0..n) lands in a redzone and stops the driver with ASan's report, even when the
 * value read is never used (which the Python matrix's NaN guards cannot see). Every tail length up
 * to twice the widest block (64 floats), then a few long rows; alignment is the matrix's job.
 * Built with -DSB_USER_SYMBOL=<the kernel's name> and the kernel's own ISA flags and cflags. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void SB_USER_SYMBOL(size_t n, const float *x, float *y);

static int run(size_t n) {
    float *x = malloc(n * sizeof(float));
    float *y = malloc(n * sizeof(float));
    if (!x || !y) return 2;
    for (size_t i = 0; i < n; i++) x[i] = (float)((int)((i * 2654435761u) % 2001) - 1000) / 125.0f;
    printf("n=%zu\n", n); /* the row being run, for softbench's message if ASan stops us */
    fflush(stdout);
    SB_USER_SYMBOL(n, x, y);
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) sum += y[i];
    int bad = !(fabs(sum - 1.0) < 1e-3);
    if (bad) fprintf(stderr, "n=%zu: the outputs sum to %g, not 1\n", n, sum);
    free(x);
    free(y);
    return bad;
}

int main(void) {
    int bad = 0;
    for (size_t n = 1; n <= 2 * 64 + 1; n++) bad |= run(n);
    static const size_t longer[] = {1000, 4097, 65537};
    for (size_t k = 0; k < sizeof longer / sizeof longer[0]; k++) bad |= run(longer[k]);
    if (!bad) printf("ok\n");
    return bad;
}
