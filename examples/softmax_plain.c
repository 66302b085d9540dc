/* A softmax in plain C, to start your own from: three passes over the row.
 *
 *   pass 1: m = max(x)                      reads x
 *   pass 2: s = sum exp(x[i] - m)           reads x
 *   pass 3: y[i] = exp(x[i] - m) / s        reads x, writes y
 *
 * so its traffic is declared as passes "r, r, rw". Measure it beside the built-in algorithms:
 *
 *   softbench run --kernel examples/softmax_plain.c:softmax_plain --kernel-passes "r, r, rw"
 *
 * The rules softbench checks (the same as for its own kernels): y[i] within 1e-5 (relative) of a
 * float64 softmax; a -inf input gives exactly 0; a row that is all -inf, or holds a NaN or +inf,
 * gives NaN everywhere; any n >= 1, any 4-byte alignment; nothing read or written outside
 * x[0..n) and y[0..n). Subtracting the max first keeps exp() finite for any finite input, and
 * the NaN rules then follow from IEEE arithmetic (inf - inf and -inf - -inf are NaN). */
#include <math.h>
#include <stddef.h>

void softmax_plain(size_t n, const float *x, float *y) {
    if (n == 0) return;
    float m = x[0];
    for (size_t i = 1; i < n; i++)
        if (x[i] > m) m = x[i];
    double sum = 0.0; /* double: the sum of a million terms keeps its float accuracy */
    for (size_t i = 0; i < n; i++) sum += expf(x[i] - m);
    const double inv = 1.0 / sum;
    for (size_t i = 0; i < n; i++) y[i] = (float)(expf(x[i] - m) * inv);
}
