/* Standalone correctness driver for softbench's softmax kernels: no Python, no numpy.
 *
 * It runs the same matrix as softbench/verify.py (the guarantees of shared/design/algorithms.md)
 * against every kernel of every ISA translation unit linked into it, with a float64 reference:
 *   - every length 1 .. 2 x max(64, the module's lanes x unroll) + 1, and large lengths;
 *   - 4-byte-aligned (not vector-aligned) pointers;
 *   - random rows at several scales, rows in [1e3, 1e4], around -1e6, at the kernel's max |x|;
 *   - -inf masks: exact zeros at masked positions, the rest accurate;
 *   - rows that are all -inf, or hold NaN or +inf: every output NaN;
 *   - every case again in place (y == x), and n = 0 as a no-op.
 * Accuracy: max relative error <= 1e-5 for outputs whose reference is >= FLT_MIN; smaller outputs
 * may flush to zero but must not exceed 2 * FLT_MIN.
 *
 * Each buffer is malloc'ed with exactly n floats (plus the misalignment offset), so a build with
 * -fsanitize=address reports any access outside x[0..n) or y[0..n). Without AddressSanitizer the
 * driver adds guard zones (NaN after x, canaries around y) and checks them instead.
 *
 * The ISAs are native/isas.def's rows: each one whose kernels/<isa>.c object is linked in is
 * tested (build_and_run.sh links the host architecture's, with the flags isas.def declares), in
 * the table's order. An ISA the CPU cannot run, by the features its row declares and the CPU
 * probe softbench uses (native/harness.c, linked in), is reported as "skipped <isa>: <reason>".
 * -DSB_TEST_INJECT_FAILURE corrupts one output of one kernel, to prove that the driver can fail.
 * Compile with -isystem native (for kernels.def, isas.def); tests/native/build_and_run.sh has the commands.
 *
 * Output: one line per kernel, then "N passed, M failed" (kernels); exit status 1 if M > 0. */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE
#endif
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* The kernel ABI (sb_softmax_fn, sb_kernel_entry) from the kernels' own header, so the driver
 * cannot drift from the tables it reads. */
#include <sb_common.h>

/* The CPU probe softbench itself decides with (native/harness.c, linked in). */
#include <harness.h>

/* Every ISA of native/isas.def, declared weak: an ISA whose kernels/<isa>.c object is not linked
 * into this build (another architecture, or left out by build_and_run.sh) has a NULL table and is
 * not tested here. */
#define SB_ISA(name, arch, lanes, flags, features, description)                         \
    const sb_kernel_entry *sb_kernel_table__##name(size_t *count) __attribute__((weak)); \
    extern const unsigned sb_block_floats__##name __attribute__((weak));                \
    extern const unsigned sb_lanes__##name __attribute__((weak));
#include <isas.def>
#undef SB_ISA

/* Guard zones only when AddressSanitizer is not there to catch out-of-bounds accesses. */
#if defined(__SANITIZE_ADDRESS__)
#define SB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SB_ASAN 1
#endif
#endif
#ifdef SB_ASAN
#define GUARD 0
#else
#define GUARD 64
#endif

#define REL_TOLERANCE 1e-5
/* Every tail length 1 .. 2 * MAX_BLOCK + 1 is tested on every ISA, and up to 2 x the module's own
 * lanes x unroll + 1 where that is larger (a wider tile of native/tiles.def): MAX_BLOCK is the
 * default tiles' largest (AVX-512F: 16 x 4). */
#define MAX_BLOCK 64
#define Y_CANARY 12345.0f
#define MAX_DETAILS 5

/* ---- the ISAs ---------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    const sb_kernel_entry *(*table)(size_t *count); /* NULL: not linked into this build */
    const unsigned *block_floats; /* the module's SB_W x SB_UNROLL (for the ISA-specific tail cases) */
    const unsigned *compiled_lanes; /* the module's SB_W */
    unsigned lanes;               /* what isas.def declares */
    const char *features;         /* isas.def: sb_cpu_features fields the CPU must report */
} isa_info;

static const isa_info isas[] = {
#define SB_ISA(name, arch, lanes, flags, features, description) \
    {#name, sb_kernel_table__##name, &sb_block_floats__##name, &sb_lanes__##name, lanes, features},
#include <isas.def>
#undef SB_ISA
};

/* The sb_cpu_features fields an isas.def row may name. */
#define SB_FEATURE(field) {#field, offsetof(sb_cpu_features, field)}
static const struct {
    const char *name;
    size_t offset;
} feature_fields[] = {
    SB_FEATURE(sse2), SB_FEATURE(avx), SB_FEATURE(fma), SB_FEATURE(avx2), SB_FEATURE(avx512f),
    SB_FEATURE(os_avx), SB_FEATURE(os_avx512), SB_FEATURE(neon),
};

/* NULL if the CPU (and OS) report every feature the ISA's row needs, else the reason. */
static const char *unsupported(const isa_info *isa, const sb_cpu_features *cpu, int *unknown) {
    static char reason[160];
    char missing[120] = "";
    const char *p = isa->features;
    while (*p) {
        size_t len = strcspn(p, " ");
        int found = 0, has = 0;
        for (size_t k = 0; k < sizeof feature_fields / sizeof feature_fields[0]; k++)
            if (strlen(feature_fields[k].name) == len && strncmp(feature_fields[k].name, p, len) == 0) {
                found = 1;
                has = *(const int *)((const char *)cpu + feature_fields[k].offset) != 0;
            }
        if (!found) *unknown = 1;
        if (!found || !has) {
            size_t used = strlen(missing);
            snprintf(missing + used, sizeof missing - used, "%s%.*s%s", used ? ", " : "", (int)len, p,
                     found ? "" : " (unknown feature)");
        }
        p += len;
        while (*p == ' ') p++;
    }
    if (!missing[0]) return NULL;
    snprintf(reason, sizeof reason, "CPU (or OS) lacks %s", missing);
    return reason;
}

/* Largest |x| for which each algorithm keeps its accuracy, from the same table the kernels use. */
typedef struct {
    const char *name;
    double max_abs_x;
} algorithm_info;

/* Found through -isystem native/ (build_and_run.sh): as a system header, its header comment (which
 * holds a slash-star inside a comment, a -Wcomment warning) does not break -Wall -Werror. */
static const algorithm_info algorithms[] = {
#define SB_ALGORITHM(name, ident, passes, read_x, read_y, write_y, rfo, exps, max_abs_x) {name, max_abs_x},
#include <kernels.def>
#undef SB_ALGORITHM
};

static double max_abs_x_of(const char *algorithm) {
    for (size_t i = 0; i < sizeof algorithms / sizeof algorithms[0]; i++)
        if (strcmp(algorithms[i].name, algorithm) == 0) return algorithms[i].max_abs_x;
    return INFINITY;
}

/* ---- deterministic random numbers -------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng_next(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static double rng_uniform(void) { return (double)(rng_next() >> 11) * 0x1p-53; } /* [0, 1) */
static double rng_normal(void) {
    double u1 = rng_uniform(), u2 = rng_uniform();
    return sqrt(-2.0 * log(1.0 - u1)) * cos(6.283185307179586 * u2);
}

/* ---- the cases --------------------------------------------------------------------------- */

typedef enum { GEN_NORMAL, GEN_UNIFORM, GEN_CONST, GEN_MASKED, GEN_WITH } gen_kind;
typedef enum { WHERE_FIRST, WHERE_MIDDLE, WHERE_LAST } where_kind;

typedef struct {
    char name[80];
    size_t n;
    gen_kind gen;
    double a, b;       /* normal: scale, shift; uniform: lo, hi; const: value; masked: fraction */
    float special;     /* GEN_WITH: the value put at `where` (other entries normal(0, 1)) */
    where_kind where;
    int expect_nan;    /* every output must be NaN */
    size_t offset;     /* floats past malloc's alignment: 4-byte aligned, not vector aligned */
} test_case;

static void fill(const test_case *c, float *x) {
    size_t n = c->n;
    switch (c->gen) {
    case GEN_NORMAL:
        for (size_t i = 0; i < n; i++) x[i] = (float)(rng_normal() * c->a + c->b);
        break;
    case GEN_UNIFORM:
        for (size_t i = 0; i < n; i++) x[i] = (float)(c->a + (c->b - c->a) * rng_uniform());
        break;
    case GEN_CONST:
        for (size_t i = 0; i < n; i++) x[i] = (float)c->a;
        break;
    case GEN_MASKED:
        for (size_t i = 0; i < n; i++) x[i] = rng_uniform() < c->a ? -INFINITY : (float)(3.0 * rng_normal());
        x[rng_next() % n] = 1.0f; /* at least one finite entry */
        break;
    case GEN_WITH:
        for (size_t i = 0; i < n; i++) x[i] = (float)rng_normal();
        x[c->where == WHERE_FIRST ? 0 : c->where == WHERE_MIDDLE ? n / 2 : n - 1] = c->special;
        break;
    }
}

static size_t n_cases;
static test_case cases[1024]; /* the tails of the widest tile (2 x 128 + 1) and the rest */

static test_case *add(size_t n, gen_kind gen, double a, double b, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static test_case *add(size_t n, gen_kind gen, double a, double b, const char *fmt, ...) {
    if (n_cases == sizeof cases / sizeof cases[0]) {
        fprintf(stderr, "too many cases\n");
        exit(2);
    }
    test_case *c = &cases[n_cases++];
    memset(c, 0, sizeof *c);
    c->n = n;
    c->gen = gen;
    c->a = a;
    c->b = b;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->name, sizeof c->name, fmt, ap);
    va_end(ap);
    return c;
}

/* The matrix for one kernel (block = lanes x unroll of its ISA; max_abs_x from kernels.def). */
static void build_cases(size_t block, double max_abs_x) {
    n_cases = 0;
    size_t tails = 2 * (block > MAX_BLOCK ? block : MAX_BLOCK) + 1;
    for (size_t n = 1; n <= tails; n++) {
        add(n, GEN_NORMAL, 4.0, 0.0, "tail n=%zu", n);
        add(n, GEN_NORMAL, 4.0, 0.0, "tail n=%zu misaligned by 3", n)->offset = 3;
    }
    static const size_t large[] = {1000, 4097, 65537};
    for (size_t i = 0; i < sizeof large / sizeof large[0]; i++)
        add(large[i], GEN_NORMAL, 4.0, 0.0, "random n=%zu", large[i]);
    for (size_t off = 1; off <= 7; off++)
        add(4 * block + 3, GEN_NORMAL, 4.0, 0.0, "misaligned by %zu floats", off)->offset = off;
    static const double scales[] = {0.01, 1.0, 30.0, 300.0};
    for (size_t i = 0; i < sizeof scales / sizeof scales[0]; i++)
        add(10007, GEN_NORMAL, scales[i], 0.0, "scale %g", scales[i]);
    add(10007, GEN_CONST, 3.5, 0, "all equal");
    test_case *c = add(10007, GEN_WITH, 0, 0, "one dominant");
    c->special = 50.0f;
    c->where = WHERE_MIDDLE;
    add(10007, GEN_UNIFORM, 1e3, 1e4, "rows in [1e3, 1e4]")->offset = 1;
    add(10007, GEN_UNIFORM, 1e3, 1.01e3, "rows in [1e3, 1.01e3]");
    add(10007, GEN_NORMAL, 5.0, -1e6, "rows around -1e6")->offset = 2;
    add(10007, GEN_NORMAL, 5.0, 1e6, "rows around +1e6");
    double bound = isfinite(max_abs_x) ? max_abs_x : 1e30;
    double spread = 3.0 * (bound * 1e-7 > 1.0 ? bound * 1e-7 : 1.0);
    add(4099, GEN_NORMAL, spread, -bound, "rows at -max|x| (%g)", -bound);
    add(4099, GEN_NORMAL, spread, bound, "rows at +max|x| (%g)", bound);
    add(4099, GEN_UNIFORM, -200.0, -100.0, "rows below the exp range (-200..-100)");
    add(10007, GEN_MASKED, 0.3, 0, "-inf mask 30%%");
    add(10007, GEN_MASKED, 0.99, 0, "-inf mask 99%%")->offset = 1;
    add(block + 3, GEN_MASKED, 0.5, 0, "-inf mask in a tail");
    add(3, GEN_MASKED, 0.7, 0, "-inf mask n=3");
    const size_t all_masked[] = {1, block > 1 ? block - 1 : 2, block + 1, 10007};
    for (size_t i = 0; i < sizeof all_masked / sizeof all_masked[0]; i++)
        add(all_masked[i], GEN_CONST, -INFINITY, 0, "all -inf n=%zu", all_masked[i])->expect_nan = 1;
    static const char *where_names[] = {"first", "middle", "last"};
    for (int w = 0; w < 3; w++) {
        c = add(4099, GEN_WITH, 0, 0, "NaN %s", where_names[w]);
        c->special = NAN;
        c->where = (where_kind)w;
        c->expect_nan = 1;
        c = add(4099, GEN_WITH, 0, 0, "+inf %s", where_names[w]);
        c->special = INFINITY;
        c->where = (where_kind)w;
        c->expect_nan = 1;
        c = add(block + 3, GEN_WITH, 0, 0, "NaN %s of n=%zu", where_names[w], block + 3);
        c->special = NAN;
        c->where = (where_kind)w;
        c->expect_nan = 1;
    }
    c = add(1, GEN_CONST, INFINITY, 0, "+inf n=1");
    c->expect_nan = 1;
    c = add(1, GEN_CONST, NAN, 0, "NaN n=1");
    c->expect_nan = 1;
}

/* ---- buffers ----------------------------------------------------------------------------- */

/* [offset floats][n floats][GUARD floats]: exactly n + offset floats under AddressSanitizer. */
static float *alloc_row(size_t n, size_t offset, float fill_value) {
    size_t total = offset + n + GUARD;
    float *base = malloc(total * sizeof(float));
    if (!base && total) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    for (size_t i = 0; i < total; i++) base[i] = fill_value;
    return base;
}

static int same_bits(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

/* 1 if the prefix and the guard zone of base still hold `expected` bit for bit. */
static int guards_intact(const float *base, size_t n, size_t offset, float expected) {
    for (size_t i = 0; i < offset; i++)
        if (!same_bits(base[i], expected)) return 0;
    for (size_t i = offset + n; i < offset + n + GUARD; i++)
        if (!same_bits(base[i], expected)) return 0;
    return 1;
}

/* ---- checking ---------------------------------------------------------------------------- */

typedef struct {
    int passed;
    double max_rel_error; /* over outputs whose reference is >= FLT_MIN */
    char detail[160];
} result;

static void check(const test_case *c, const float *x, const float *y, result *r) {
    size_t n = c->n;
    r->passed = 1;
    r->max_rel_error = 0.0;
    r->detail[0] = 0;
    if (c->expect_nan) {
        size_t bad = 0, first = 0;
        for (size_t i = 0; i < n; i++)
            if (!isnan(y[i]) && bad++ == 0) first = i;
        if (bad) {
            r->passed = 0;
            snprintf(r->detail, sizeof r->detail, "%zu outputs are not NaN (y[%zu] = %g)", bad, first, (double)y[first]);
        }
        return;
    }
    double m = -INFINITY, sum = 0.0;
    for (size_t i = 0; i < n; i++)
        if ((double)x[i] > m) m = (double)x[i];
    for (size_t i = 0; i < n; i++) sum += exp((double)x[i] - m);
    for (size_t i = 0; i < n; i++) {
        double ref = exp((double)x[i] - m) / sum, yi = (double)y[i];
        if (isinf(x[i]) && x[i] < 0 && y[i] != 0.0f) {
            snprintf(r->detail, sizeof r->detail, "masked (-inf) x[%zu] gave y = %g, not exactly 0", i, yi);
            r->passed = 0;
            return;
        }
        if (!isfinite(yi)) {
            snprintf(r->detail, sizeof r->detail, "non-finite y[%zu] = %g (x = %g)", i, yi, (double)x[i]);
            r->passed = 0;
            return;
        }
        if (ref >= FLT_MIN) {
            double err = fabs(yi - ref) / ref;
            if (err > r->max_rel_error) r->max_rel_error = err;
            if (err > REL_TOLERANCE && r->passed) {
                snprintf(r->detail, sizeof r->detail, "y[%zu] = %.9g, reference %.9g: relative error %.3g > %g", i, yi,
                         ref, err, REL_TOLERANCE);
                r->passed = 0;
            }
        } else if (fabs(yi) > 2.0 * FLT_MIN && r->passed) {
            snprintf(r->detail, sizeof r->detail, "y[%zu] = %g where the reference %g is below FLT_MIN", i, yi, ref);
            r->passed = 0;
        }
    }
    if (!r->passed) {
        /* keep the detail of the first failure, report the worst error in it */
        size_t len = strlen(r->detail);
        snprintf(r->detail + len, sizeof r->detail - len, " (max %.3g)", r->max_rel_error);
    }
}

/* Runs one case, out of place (in_place = 0) or with y == x. */
static void run_case(sb_softmax_fn fn, const test_case *c, int in_place, int inject, result *r) {
    size_t n = c->n, off = c->offset;
    float *xbase = alloc_row(n, off, NAN);
    float *x = xbase + off;
    fill(c, x);
    float *xcopy = malloc(n * sizeof(float));
    if (!xcopy) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    memcpy(xcopy, x, n * sizeof(float));

    float *ybase = in_place ? xbase : alloc_row(n, off, Y_CANARY);
    float *y = ybase + off;
    fn(n, x, y);
    if (inject) y[n / 2] = y[n / 2] * 1.001f + 1e-3f; /* SB_TEST_INJECT_FAILURE */

    check(c, xcopy, y, r);
    if (r->passed && !in_place && memcmp(x, xcopy, n * sizeof(float)) != 0) {
        r->passed = 0;
        snprintf(r->detail, sizeof r->detail, "the kernel modified its input x");
    }
    if (!guards_intact(xbase, n, off, NAN) || (!in_place && !guards_intact(ybase, n, off, Y_CANARY))) {
        r->passed = 0;
        snprintf(r->detail, sizeof r->detail, "accessed memory outside x[0..n) or y[0..n) (guard zone changed)");
    }
    if (!in_place) free(ybase);
    free(xbase);
    free(xcopy);
}

/* n = 0 must be a no-op: nothing read or written. */
static int run_empty(sb_softmax_fn fn) {
    float *x = alloc_row(0, 1, NAN), *y = alloc_row(0, 1, Y_CANARY);
    fn(0, x + 1, y + 1);
    int ok = guards_intact(x, 0, 1, NAN) && guards_intact(y, 0, 1, Y_CANARY);
    free(x);
    free(y);
    return ok;
}

/* ---- main -------------------------------------------------------------------------------- */

int main(void) {
    int kernels_passed = 0, kernels_failed = 0;
    int first_kernel = 1; /* SB_TEST_INJECT_FAILURE corrupts the first kernel run */
    sb_cpu_features cpu;
    sb_cpu_probe(&cpu);
    for (size_t k = 0; k < sizeof isas / sizeof isas[0]; k++) {
        const isa_info *isa = &isas[k];
        if (!isa->table) continue; /* not linked into this build */
        int unknown = 0;
        const char *why = unsupported(isa, &cpu, &unknown);
        if (unknown) { /* a row this driver cannot check must not pass as a skip */
            printf("FAIL %s: isas.def names a feature the driver does not know: %s\n", isa->name, why);
            kernels_failed++;
            continue;
        }
        if (why) {
            printf("skipped %s: %s\n", isa->name, why);
            continue;
        }
        if (*isa->compiled_lanes != isa->lanes) {
            printf("FAIL %s: compiled with %u lanes, isas.def declares %u\n", isa->name, *isa->compiled_lanes,
                   isa->lanes);
            kernels_failed++;
        }
        size_t count = 0;
        const sb_kernel_entry *table = isa->table(&count);
        if (count == 0) {
            printf("FAIL %s: empty kernel table\n", isa->name);
            kernels_failed++;
        }
        for (size_t j = 0; j < count; j++) {
            const sb_kernel_entry *e = &table[j];
            char label[64]; /* "two-pass" or "two-pass[nt]" */
            snprintf(label, sizeof label, e->variant[0] ? "%s[%s]" : "%s", e->algorithm, e->variant);
            build_cases((size_t)*isa->block_floats, max_abs_x_of(e->algorithm));
            rng_state = 0x5eed0000u + j; /* the same inputs for the same algorithm on every ISA */
            int failed = 0, checks = 0;
            double worst = 0.0;
            char details[MAX_DETAILS][300];
            if (!run_empty(e->kernel)) {
                snprintf(details[failed++], sizeof details[0], "n=0: touched memory");
            }
            checks++;
            for (size_t i = 0; i < n_cases; i++) {
                for (int in_place = 0; in_place <= 1; in_place++) {
                    result r;
                    int inject = 0;
#ifdef SB_TEST_INJECT_FAILURE
                    inject = first_kernel && i == 0 && !in_place && cases[i].n >= 1;
#endif
                    run_case(e->kernel, &cases[i], in_place, inject, &r);
                    checks++;
                    if (r.max_rel_error > worst) worst = r.max_rel_error;
                    if (!r.passed) {
                        if (failed < MAX_DETAILS)
                            snprintf(details[failed], sizeof details[0], "%.79s%s: %.159s", cases[i].name,
                                     in_place ? " (in place)" : "", r.detail);
                        failed++;
                    }
                }
            }
            if (failed) {
                kernels_failed++;
                printf("FAIL %-8s %-22s %d of %d checks failed, max rel error %.3g\n", isa->name, label, failed,
                       checks, worst);
                for (int d = 0; d < failed && d < MAX_DETAILS; d++) printf("    %s\n", details[d]);
                if (failed > MAX_DETAILS) printf("    ... and %d more\n", failed - MAX_DETAILS);
            } else {
                kernels_passed++;
                printf("ok   %-8s %-22s %d checks, max rel error %.3g\n", isa->name, label, checks, worst);
            }
            fflush(stdout);
            (void)first_kernel;
            first_kernel = 0;
        }
    }
    printf("%d passed, %d failed\n", kernels_passed, kernels_failed);
    return kernels_failed ? 1 : 0;
}
