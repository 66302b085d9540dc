/* Driver for the thread pool (native/threads.c) without Python: built with -fsanitize=thread by
 * build_and_run.sh (mode "threads"), so that a data race in the dispatch (the generation counter,
 * the done count, the sleepers and the per-thread states) fails the test, not a user's run.
 *
 * For pools of 1 to 5 threads (more than this machine may have), every algorithm of the scalar
 * module, batches and single rows of several lengths, it checks each row against a double
 * softmax, that a batch split by rows gives the very bits of the kernel called per row, and runs
 * the timing loop, first touch and an empty call. Output: one line per failure, then
 * "N passed, M failed" (checks); exit status 1 if M > 0. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "threads.h"

const sb_kernel_entry *sb_kernel_table__scalar(size_t *count);
const sb_pass_entry *sb_pass_table__scalar(size_t *count);

static unsigned long long lcg = 88172645463325252ull;
static float rnd(void) {
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(lcg >> 11) / 9007199254740992.0 * 8.0 - 4.0);
}

static int checks, failed;

static void fail(const char *what, const char *alg, int threads, size_t rows, size_t cols, double err) {
    failed++;
    printf("FAIL %s: %s threads=%d %zux%zu (error %.3g)\n", what, alg, threads, rows, cols, err);
}

/* max relative error of each row of y against a double softmax of the same row of x */
static double row_error(const float *x, const float *y, size_t rows, size_t cols) {
    double worst = 0.0;
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        double m = -INFINITY, s = 0.0;
        for (size_t i = 0; i < cols; i++) m = xr[i] > m ? xr[i] : m;
        for (size_t i = 0; i < cols; i++) s += exp((double)xr[i] - m);
        for (size_t i = 0; i < cols; i++) {
            double ref = exp((double)xr[i] - m) / s, yi = y[r * cols + i];
            double e = ref >= FLT_MIN ? fabs(yi - ref) / ref : 0.0;
            if (!(e <= worst)) worst = e; /* NaN counts as the worst */
        }
    }
    return worst;
}

int main(void) {
    size_t nk, np;
    const sb_kernel_entry *kernels = sb_kernel_table__scalar(&nk);
    const sb_pass_entry *passes = sb_pass_table__scalar(&np);
    const size_t shapes[][2] = {{1, 1}, {1, 3}, {1, 17}, {1, 64}, {1, 1000}, {1, 4099},
                                {2, 1}, {3, 17}, {7, 64}, {5, 1000}, {9, 3}};
    for (int threads = 1; threads <= 5; threads++) {
        int cpus[5] = {-1, -1, -1, -1, -1};
        sb_pool *pool = sb_pool_create(threads, cpus);
        if (!pool) {
            printf("FAIL: sb_pool_create(%d)\n", threads);
            return 1;
        }
        for (size_t k = 0; k < nk; k++) {
            if (kernels[k].variant[0]) continue; /* the size-selected kernels */
            sb_work work = {kernels[k].kernel, 0, {0}, {0}};
            for (size_t p = 0; p < np; p++)
                if (strcmp(passes[p].algorithm, kernels[k].algorithm) == 0) {
                    work.pass[work.passes] = passes[p].fn;
                    work.merge[work.passes++] = passes[p].merge;
                }
            for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
                size_t rows = shapes[s][0], cols = shapes[s][1], n = rows * cols;
                float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *one = malloc(n * sizeof *one);
                for (size_t i = 0; i < n; i++) x[i] = rnd();
                sb_pool_touch(pool, rows, cols, y);
                sb_pool_run(pool, &work, rows, cols, x, y);
                sb_batch(kernels[k].kernel, rows, cols, x, one);
                double err = row_error(x, y, rows, cols);
                checks++;
                if (!(err <= 1e-5)) fail("accuracy", kernels[k].algorithm, threads, rows, cols, err);
                if (rows > 1 && memcmp(y, one, n * sizeof *y) != 0) {
                    checks++;
                    fail("a batch split by rows differs from the kernel per row", kernels[k].algorithm, threads, rows, cols, 0);
                }
                if (!(sb_pool_time(pool, &work, rows, cols, x, y, 3, 1) > 0.0)) fail("timing", kernels[k].algorithm, threads, rows, cols, 0);
                sb_work empty = work;
                empty.fn = NULL;
                for (int p = 0; p < empty.passes; p++) empty.pass[p] = NULL;
                sb_pool_time(pool, &empty, rows, cols, x, y, 3, 0);
                free(x);
                free(y);
                free(one);
            }
        }
        sb_pool_destroy(pool);
    }
    printf("%d passed, %d failed\n", checks - failed, failed);
    return failed ? 1 : 0;
}
