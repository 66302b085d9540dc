#define _GNU_SOURCE
#include "perf_counters.h"

#include <errno.h>
#include <string.h>

#include "harness.h"

#if defined(__linux__) && defined(__has_include)
#if __has_include(<linux/perf_event.h>)
#define SB_HAVE_PERF 1
#endif
#endif

#if SB_HAVE_PERF
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static long sb_perf_event_open(struct perf_event_attr *attr, int group_fd) {
    /* pid 0, cpu -1: this thread, on whichever CPU it runs */
    return syscall(SYS_perf_event_open, attr, 0, -1, group_fd, PERF_FLAG_FD_CLOEXEC);
}

void sb_perf_close(sb_perf_group *g) {
    for (int i = 0; i < g->count && i < SB_PERF_MAX; i++) {
        if (g->fds[i] >= 0) close(g->fds[i]);
        g->fds[i] = -1;
    }
    g->leader = -1;
}

int sb_perf_open(sb_perf_group *g, int count, const uint32_t *types, const uint64_t *configs, const int *optional,
                 int *failed) {
    memset(g, 0, sizeof *g);
    g->count = count;
    g->leader = -1;
    *failed = -1;
    for (int i = 0; i < SB_PERF_MAX; i++) g->fds[i] = -1;
    if (count < 1 || count > SB_PERF_MAX) {
        *failed = 0;
        return EINVAL;
    }
    for (int i = 0; i < count; i++) {
        struct perf_event_attr attr;
        memset(&attr, 0, sizeof attr);
        attr.size = sizeof attr;
        attr.type = types[i];
        attr.config = configs[i];
        attr.disabled = g->leader < 0; /* the leader starts disabled; members follow it */
        attr.exclude_kernel = 1;       /* user space only: allowed at perf_event_paranoid <= 2 */
        attr.exclude_hv = 1;
        attr.read_format = PERF_FORMAT_GROUP | PERF_FORMAT_ID | PERF_FORMAT_TOTAL_TIME_ENABLED |
                           PERF_FORMAT_TOTAL_TIME_RUNNING;
        long fd = sb_perf_event_open(&attr, g->leader < 0 ? -1 : g->fds[g->leader]);
        if (fd < 0) {
            int err = errno ? errno : EINVAL;
            if (optional && optional[i]) continue;
            *failed = i;
            sb_perf_close(g);
            return err;
        }
        g->fds[i] = (int)fd;
        uint64_t id = 0;
        if (ioctl((int)fd, PERF_EVENT_IOC_ID, &id) != 0) {
            int err = errno ? errno : EINVAL;
            *failed = i;
            sb_perf_close(g);
            return err;
        }
        g->ids[i] = id;
        if (g->leader < 0) g->leader = i;
    }
    if (g->leader < 0) { /* every counter was optional and none opened */
        *failed = 0;
        return ENOENT;
    }
    return 0;
}

int sb_perf_reset_enable(sb_perf_group *g) {
    if (g->leader < 0) return EBADF;
    int fd = g->fds[g->leader];
    if (ioctl(fd, PERF_EVENT_IOC_RESET, PERF_IOC_FLAG_GROUP) != 0) return errno;
    if (ioctl(fd, PERF_EVENT_IOC_ENABLE, PERF_IOC_FLAG_GROUP) != 0) return errno;
    return 0;
}

int sb_perf_disable(sb_perf_group *g) {
    if (g->leader < 0) return EBADF;
    if (ioctl(g->fds[g->leader], PERF_EVENT_IOC_DISABLE, PERF_IOC_FLAG_GROUP) != 0) return errno;
    return 0;
}

int sb_perf_read(sb_perf_group *g, uint64_t *values, uint64_t *time_enabled, uint64_t *time_running) {
    if (g->leader < 0) return EBADF;
    /* PERF_FORMAT_GROUP | ID | TOTAL_TIME_ENABLED | TOTAL_TIME_RUNNING:
     * nr, time_enabled, time_running, then nr pairs (value, id) */
    uint64_t buf[3 + 2 * SB_PERF_MAX];
    ssize_t got = read(g->fds[g->leader], buf, sizeof buf);
    if (got < 0) return errno;
    if (got < (ssize_t)(3 * sizeof(uint64_t))) return EIO;
    uint64_t nr = buf[0];
    if (nr > SB_PERF_MAX || got < (ssize_t)((3 + 2 * nr) * sizeof(uint64_t))) return EIO;
    *time_enabled = buf[1];
    *time_running = buf[2];
    for (int i = 0; i < g->count; i++) values[i] = 0;
    for (uint64_t k = 0; k < nr; k++) {
        uint64_t value = buf[3 + 2 * k], id = buf[4 + 2 * k];
        for (int i = 0; i < g->count; i++)
            if (g->fds[i] >= 0 && g->ids[i] == id) values[i] = value;
    }
    return 0;
}

#else /* no perf_event_open on this OS */

void sb_perf_close(sb_perf_group *g) { g->leader = -1; }

int sb_perf_open(sb_perf_group *g, int count, const uint32_t *types, const uint64_t *configs, const int *optional,
                 int *failed) {
    (void)types, (void)configs, (void)optional;
    memset(g, 0, sizeof *g);
    g->count = count;
    g->leader = -1;
    *failed = 0;
    return ENOSYS;
}

int sb_perf_reset_enable(sb_perf_group *g) { (void)g; return ENOSYS; }
int sb_perf_disable(sb_perf_group *g) { (void)g; return ENOSYS; }
int sb_perf_read(sb_perf_group *g, uint64_t *values, uint64_t *time_enabled, uint64_t *time_running) {
    (void)g, (void)values, (void)time_enabled, (void)time_running;
    return ENOSYS;
}
#endif

double sb_perf_time_calls(sb_perf_group *g, sb_softmax_fn fn, size_t n, const float *x, float *y, uint64_t calls,
                          int ftz_daz) {
    int err = sb_perf_reset_enable(g);
    if (err) return -(double)err;
    double t = sb_time_calls(fn, n, x, y, calls, ftz_daz);
    sb_perf_disable(g);
    return t;
}

double sb_perf_time_pass_calls(sb_perf_group *g, sb_pass_fn fn, size_t n, const float *x, float *y, const sb_state *st,
                               uint64_t calls, int ftz_daz) {
    int err = sb_perf_reset_enable(g);
    if (err) return -(double)err;
    double t = sb_time_pass_calls(fn, n, x, y, st, calls, ftz_daz);
    sb_perf_disable(g);
    return t;
}
