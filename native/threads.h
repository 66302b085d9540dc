/* A persistent pool of threads that splits softmax calls across cores (`softbench run --threads`,
 * softmax(threads=)). Compiled into the harness module, with the timing loop it extends.
 *
 * A pool is created once for T threads: the calling thread is thread 0, and T - 1 workers wait
 * for work, each pinned to the CPU the caller names (the caller pins itself). One rule splits a
 * call (and first touch uses the same rule, so each page lands by the thread that uses it):
 *   - several rows (a batch): rows across threads in contiguous blocks; a thread with no rows
 *     only takes part in the synchronisation;
 *   - one row with T > 1: T chunks of 64-byte multiples. Every pass of the algorithm runs on each
 *     chunk in parallel; thread 0 merges the chunks' states (sb_merge_states) and the next pass
 *     starts from the merged state: one barrier per pass.
 * Dispatch is a generation counter: thread 0 publishes the job and bumps it, workers spin on it
 * (then sleep on a condition variable once idle for a while) and count themselves done. */
#ifndef SB_THREADS_H
#define SB_THREADS_H
#include <stddef.h>
#include <stdint.h>
#include "sb_common.h"

#define SB_MAX_PASSES 4

/* What a parallel call runs. */
typedef struct {
    sb_softmax_fn fn;                 /* the whole kernel, its twin, or a STREAM kernel: per row */
    int passes;                       /* the same work as passes, to split one row into chunks;
                                         0: fn is elementwise (STREAM) and runs on the chunks */
    sb_pass_fn pass[SB_MAX_PASSES];   /* NULL: the phase only synchronises (an empty call) */
    int merge[SB_MAX_PASSES];         /* SB_MERGE_* of each pass */
} sb_work;

typedef struct sb_pool sb_pool;

/* A pool of `threads` threads; cpus[t] (t >= 1) is worker t's CPU, -1 for none. NULL on failure. */
sb_pool *sb_pool_create(int threads, const int *cpus);
void sb_pool_destroy(sb_pool *pool);
int sb_pool_threads(const sb_pool *pool);
/* Workers whose pinning succeeded (0 where the OS cannot pin threads, e.g. macOS). */
int sb_pool_pinned(const sb_pool *pool);

/* One parallel call: y = softmax of each row of x (rows x cols, row-major), split as above. */
void sb_pool_run(sb_pool *pool, const sb_work *work, size_t rows, size_t cols, const float *x, float *y);

/* `calls` parallel calls back to back, timed by thread 0 as sb_time_calls times one thread (FTZ/DAZ
 * set in every thread while timing). The workers are woken before the clock starts and put back
 * to sleep after it stops, so that no spinning thread is left to disturb the next measurement. */
double sb_pool_time(sb_pool *pool, const sb_work *work, size_t rows, size_t cols, const float *x, float *y,
                    uint64_t calls, int ftz_daz);

/* First touch: each thread writes zeros into the part of buf (rows x cols) it works on. */
void sb_pool_touch(sb_pool *pool, size_t rows, size_t cols, float *buf);

#endif
