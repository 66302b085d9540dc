/* Hardware (or software) event counters for the calling thread through Linux perf_event_open,
 * compiled into the harness module beside the timing loop. Everything here is tolerant: a machine
 * without a PMU (most VMs), a kernel that forbids access (perf_event_paranoid) or another OS makes
 * sb_perf_open return an errno, never abort; the Python side (softbench/counters.py) turns that
 * errno into one line that says why. */
#ifndef SB_PERF_COUNTERS_H
#define SB_PERF_COUNTERS_H
#include <stddef.h>
#include <stdint.h>
#include "sb_common.h"

#define SB_PERF_MAX 8

typedef struct {
    int count;                 /* counters asked for */
    int fds[SB_PERF_MAX];      /* -1: not opened (an optional counter that failed) */
    uint64_t ids[SB_PERF_MAX]; /* the kernel's id of each opened counter, to match group reads */
    int leader;                /* index of the group leader (the first counter opened) */
} sb_perf_group;

/* Opens `count` counters (perf_event_attr type/config pairs) as one group on the calling thread,
 * user space only, disabled. A counter with optional[i] set that fails is skipped (fds[i] = -1);
 * any other failure closes what was opened and returns its errno, with its index in *failed.
 * Returns 0 on success; ENOSYS where perf_event_open does not exist. */
int sb_perf_open(sb_perf_group *g, int count, const uint32_t *types, const uint64_t *configs, const int *optional,
                 int *failed);

/* Reset and enable / disable the whole group (ioctl on the leader). 0 or errno. */
int sb_perf_reset_enable(sb_perf_group *g);
int sb_perf_disable(sb_perf_group *g);

/* values[i] for counter i (0 for a skipped one), and the group's time enabled and running in ns
 * (running < enabled when the kernel multiplexed the PMU; 0 running: never scheduled). 0 or errno. */
int sb_perf_read(sb_perf_group *g, uint64_t *values, uint64_t *time_enabled, uint64_t *time_running);

void sb_perf_close(sb_perf_group *g);

/* sb_time_calls / sb_time_pass_calls between reset+enable and disable of the group, so the
 * counts cover exactly the loop of calls. Return the elapsed ns, or -errno when the group could
 * not be enabled. */
double sb_perf_time_calls(sb_perf_group *g, sb_softmax_fn fn, size_t n, const float *x, float *y, uint64_t calls,
                          int ftz_daz);
double sb_perf_time_pass_calls(sb_perf_group *g, sb_pass_fn fn, size_t n, const float *x, float *y, const sb_state *st,
                               uint64_t calls, int ftz_daz);

#endif
