/* The thread pool of threads.h. */
#define _GNU_SOURCE
#include "threads.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "harness.h"

#define SB_LINE 64
/* A waiting thread spins with a pause instruction this long (the gap between the passes of one
 * call, or between back-to-back calls, is far shorter), then yields its CPU while it keeps
 * checking (so that a pool with more threads than CPUs still makes progress), and a worker idle
 * for SB_SLEEP_NS sleeps until the next job. */
#define SB_PAUSE_NS 20e3
#define SB_SLEEP_NS 200e3
#define SB_MAX_THREADS 4096

enum { SB_JOB_ROWS, SB_JOB_PASS, SB_JOB_TOUCH, SB_JOB_NOP, SB_JOB_PARK, SB_JOB_EXIT };

/* Per thread, on its own cache line: the state its chunk left, and whether it had a chunk. */
typedef struct {
    _Alignas(SB_LINE) sb_state st;
    int has_work;
} sb_slot;

typedef struct {
    sb_pool *pool;
    int index;
    int cpu;
} sb_worker_arg;

struct sb_pool {
    int threads;
    pthread_t *tids;
    sb_worker_arg *args;
    sb_slot *slot;
    const sb_state **chunks; /* the merge's view of the slots that had work */
    pthread_mutex_t use;     /* one caller at a time */
    pthread_mutex_t lock;    /* sleeping workers wait on `wake` under it */
    pthread_cond_t wake;
    /* the job: written by thread 0 before it bumps gen; workers read it after they see gen move */
    int kind, pass, ftz_daz;
    const sb_work *work;
    size_t rows, cols;
    const float *x;
    float *y;
    sb_state state; /* what each chunk's pass starts from */
    _Alignas(SB_LINE) atomic_uint_fast64_t gen;
    _Alignas(SB_LINE) atomic_int done;
    _Alignas(SB_LINE) atomic_int sleepers;
    atomic_int started, pinned;
};

static inline void sb_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

/* One step of a wait that started at *start (0: not yet): pause, or yield the CPU once the wait is
 * longer than SB_PAUSE_NS. Returns the time waited so far, refreshed every 64 steps. */
static double sb_spin(unsigned step, double *start, double waited) {
    if (waited < SB_PAUSE_NS) sb_pause();
    else sched_yield();
    if ((step & 63) == 0) {
        double now = sb_now_ns();
        if (*start == 0.0) *start = now;
        return now - *start;
    }
    return waited;
}

static int sb_chunked(const sb_pool *p) { return p->rows == 1 && p->threads > 1; }

/* The elements [*begin, *end) thread t works on: a block of whole rows, or a chunk of one row. */
static void sb_part(const sb_pool *p, int t, size_t *begin, size_t *end) {
    size_t T = (size_t)p->threads;
    if (sb_chunked(p)) {
        size_t per = ((p->cols + T - 1) / T + 15) & ~(size_t)15; /* 16 floats: no shared lines */
        size_t b = (size_t)t * per;
        *begin = b < p->cols ? b : p->cols;
        *end = *begin + per < p->cols ? *begin + per : p->cols;
    } else {
        size_t q = p->rows / T, r = p->rows % T, tt = (size_t)t;
        size_t r0 = tt * q + (tt < r ? tt : r);
        *begin = r0 * p->cols;
        *end = (r0 + q + (tt < r)) * p->cols;
    }
}

static void sb_task(sb_pool *p, int t) {
    size_t b, e;
    sb_part(p, t, &b, &e);
    if (p->kind == SB_JOB_ROWS) {
        if (e > b && p->work->fn) {
            if (sb_chunked(p)) p->work->fn(e - b, p->x + b, p->y + b);
            else sb_batch(p->work->fn, (e - b) / p->cols, p->cols, p->x + b, p->y + b);
        }
    } else if (p->kind == SB_JOB_PASS) {
        sb_slot *s = &p->slot[t];
        s->st = p->state;
        s->has_work = e > b;
        sb_pass_fn fn = p->work->pass[p->pass];
        if (e > b && fn) fn(e - b, p->x + b, p->y + b, &s->st);
    } else if (p->kind == SB_JOB_TOUCH) {
        if (e > b) memset(p->y + b, 0, (e - b) * sizeof(float));
    }
}

static uint64_t sb_wait_gen(sb_pool *p, uint64_t seen, int sleep_now) {
    uint64_t g;
    if (!sleep_now) {
        double start = 0.0, waited = 0.0;
        for (unsigned i = 1; waited < SB_SLEEP_NS; i++) {
            g = atomic_load_explicit(&p->gen, memory_order_acquire);
            if (g != seen) return g;
            waited = sb_spin(i, &start, waited);
        }
    }
    /* Sleep. sleepers is raised before gen is read again, and thread 0 bumps gen before it reads
     * sleepers (both sequentially consistent): either this thread sees the new job, or thread 0
     * sees a sleeper and wakes it under the same mutex. */
    pthread_mutex_lock(&p->lock);
    atomic_fetch_add(&p->sleepers, 1);
    while ((g = atomic_load(&p->gen)) == seen) pthread_cond_wait(&p->wake, &p->lock);
    atomic_fetch_sub(&p->sleepers, 1);
    pthread_mutex_unlock(&p->lock);
    return g;
}

static void *sb_worker(void *arg) {
    sb_worker_arg *a = arg;
    sb_pool *p = a->pool;
#ifdef __linux__
    if (a->cpu >= 0 && a->cpu < CPU_SETSIZE) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(a->cpu, &set);
        if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0) atomic_fetch_add(&p->pinned, 1);
    }
#endif
    atomic_fetch_add(&p->started, 1);
    uint64_t seen = 0;
    int parked = 1; /* sleep until the first job */
    for (;;) {
        seen = sb_wait_gen(p, seen, parked);
        int kind = p->kind;
        if (kind == SB_JOB_EXIT) return NULL;
        parked = kind == SB_JOB_PARK;
        if (kind == SB_JOB_ROWS || kind == SB_JOB_PASS) {
            unsigned mode = sb_fpmode_enter(p->ftz_daz);
            sb_task(p, a->index);
            sb_fpmode_leave(mode);
        } else {
            sb_task(p, a->index);
        }
        atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
    }
}

/* Thread 0: publish the job of kind `kind` (its fields are set), run its own part, wait for all. */
static void sb_dispatch(sb_pool *p, int kind) {
    p->kind = kind;
    if (p->threads > 1) {
        atomic_store_explicit(&p->done, 0, memory_order_relaxed);
        atomic_fetch_add(&p->gen, 1);
        if (atomic_load(&p->sleepers) > 0) {
            pthread_mutex_lock(&p->lock);
            pthread_cond_broadcast(&p->wake);
            pthread_mutex_unlock(&p->lock);
        }
    }
    if (kind == SB_JOB_EXIT) return;
    sb_task(p, 0);
    double start = 0.0, waited = 0.0;
    for (unsigned i = 1; atomic_load_explicit(&p->done, memory_order_acquire) < p->threads - 1; i++)
        waited = sb_spin(i, &start, waited);
}

/* One parallel call on the job's rows, cols, x, y and work. */
static void sb_call(sb_pool *p) {
    const sb_work *w = p->work;
    if (!sb_chunked(p) || w->passes == 0) {
        sb_dispatch(p, SB_JOB_ROWS);
        return;
    }
    memset(&p->state, 0, sizeof p->state);
    for (int k = 0; k < w->passes && k < SB_MAX_PASSES; k++) {
        p->pass = k;
        sb_dispatch(p, SB_JOB_PASS);
        if (w->merge[k] == SB_MERGE_NONE) continue;
        int count = 0;
        for (int t = 0; t < p->threads; t++)
            if (p->slot[t].has_work) p->chunks[count++] = &p->slot[t].st;
        sb_merge_states(w->merge[k], &p->state, p->chunks, count);
    }
}

static void sb_set_job(sb_pool *p, const sb_work *work, size_t rows, size_t cols, const float *x, float *y, int ftz) {
    p->work = work;
    p->rows = rows;
    p->cols = cols;
    p->x = x;
    p->y = y;
    p->ftz_daz = ftz;
}

sb_pool *sb_pool_create(int threads, const int *cpus) {
    if (threads < 1 || threads > SB_MAX_THREADS) return NULL;
    sb_pool *p;
    if (posix_memalign((void **)&p, SB_LINE, sizeof *p)) return NULL;
    memset(p, 0, sizeof *p);
    p->threads = threads;
    void *slots = NULL;
    p->tids = calloc((size_t)threads, sizeof *p->tids);
    p->args = calloc((size_t)threads, sizeof *p->args);
    p->chunks = calloc((size_t)threads, sizeof *p->chunks);
    if (posix_memalign(&slots, SB_LINE, (size_t)threads * sizeof(sb_slot))) slots = NULL;
    p->slot = slots;
    if (!p->tids || !p->args || !p->chunks || !p->slot) goto fail;
    atomic_init(&p->gen, 0);
    atomic_init(&p->done, 0);
    atomic_init(&p->sleepers, 0);
    atomic_init(&p->started, 0);
    atomic_init(&p->pinned, 0);
    pthread_mutex_init(&p->use, NULL);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    /* workers start with every signal blocked: signals (Ctrl-C) go to the caller's thread */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (int t = 1; t < threads; t++) {
        p->args[t] = (sb_worker_arg){p, t, cpus ? cpus[t] : -1};
        if (pthread_create(&p->tids[t], NULL, sb_worker, &p->args[t]) != 0) {
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            p->threads = t; /* the workers started so far are stopped by destroy */
            sb_pool_destroy(p);
            return NULL;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    /* wait until every worker has pinned itself, so that sb_pool_pinned is final */
    double start = 0.0, waited = 0.0;
    for (unsigned i = 1; atomic_load(&p->started) < threads - 1; i++) waited = sb_spin(i, &start, waited);
    return p;
fail:
    free(p->tids);
    free(p->args);
    free(p->chunks);
    free(p->slot);
    free(p);
    return NULL;
}

void sb_pool_destroy(sb_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->use);
    sb_dispatch(p, SB_JOB_EXIT);
    for (int t = 1; t < p->threads; t++) pthread_join(p->tids[t], NULL);
    pthread_mutex_unlock(&p->use);
    pthread_mutex_destroy(&p->use);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    free(p->tids);
    free(p->args);
    free(p->chunks);
    free(p->slot);
    free(p);
}

int sb_pool_threads(const sb_pool *p) { return p->threads; }

int sb_pool_pinned(const sb_pool *p) { return atomic_load(&((sb_pool *)p)->pinned); }

void sb_pool_run(sb_pool *p, const sb_work *work, size_t rows, size_t cols, const float *x, float *y) {
    pthread_mutex_lock(&p->use);
    sb_set_job(p, work, rows, cols, x, y, 0);
    sb_call(p);
    pthread_mutex_unlock(&p->use);
}

double sb_pool_time(sb_pool *p, const sb_work *work, size_t rows, size_t cols, const float *x, float *y,
                    uint64_t calls, int ftz_daz) {
    pthread_mutex_lock(&p->use);
    sb_set_job(p, work, rows, cols, x, y, ftz_daz);
    unsigned mode = sb_fpmode_enter(ftz_daz);
    sb_dispatch(p, SB_JOB_NOP); /* wake the workers: a sleeping one would be timed waking up */
    double start = sb_now_ns();
    for (uint64_t c = 0; c < calls; c++) sb_call(p);
    double end = sb_now_ns();
    sb_dispatch(p, SB_JOB_PARK);
    sb_fpmode_leave(mode);
    pthread_mutex_unlock(&p->use);
    return end - start;
}

void sb_pool_touch(sb_pool *p, size_t rows, size_t cols, float *buf) {
    pthread_mutex_lock(&p->use);
    sb_set_job(p, NULL, rows, cols, NULL, buf, 0);
    sb_dispatch(p, SB_JOB_TOUCH);
    sb_dispatch(p, SB_JOB_PARK);
    pthread_mutex_unlock(&p->use);
}
