/* Instantiates, for the ISA whose isa/<isa>.h was included just before, every algorithm of
 * kernels.def with its traffic twin, the STREAM kernels, and the tables the Python side reads:
 * sb_kernel_table__<isa>, sb_pass_table__<isa> and sb_stream_table__<isa>. */
#include "algorithms/common_passes.h"
#include "algorithms/twins.h"
#include "algorithms/three_pass_recompute.h"
#include "algorithms/three_pass_reload.h"
#include "algorithms/two_pass.h"
#include "algorithms/online.h"

/* Each algorithm's passes are listed once, in order, beside its definition, as
 *   #define SB_PASSES_<ident>(SB_PASS, alg) SB_PASS(alg, ...) SB_PASS(alg, ...) ...
 * with one SB_PASS row per pass:
 *   SB_PASS(algorithm, pass, fn, fn_nt, twin, twin_nt, read_x, read_y, write_y, merge)
 * fn / twin: the pass and its traffic twin with normal stores; fn_nt / twin_nt: with non-temporal
 * output stores (the same functions for a pass that stores nothing); read_x, read_y, write_y: its
 * bytes per element; merge: how chunks' states combine (SB_MERGE_*). From that one list come the
 * algorithm's kernel (its passes called in order), its twin (their twins in order) and its rows
 * of the pass table, so the three cannot disagree. The calls stay direct (an `if`, not a
 * conditional function pointer, which gcc would not inline): `nt` is a constant in each variant,
 * and the store-kind wrappers are SB_PASS_INLINE, so the kernels compile as when written out. */
#define SB_RUN_PASS(alg, pass, fn, fn_nt, twin, twin_nt, read_x, read_y, write_y, merge) \
    if (nt) SB_FN(fn_nt)(n, x, y, &st); else SB_FN(fn)(n, x, y, &st);
#define SB_RUN_TWIN(alg, pass, fn, fn_nt, twin, twin_nt, read_x, read_y, write_y, merge) \
    if (nt) SB_FN(twin_nt)(n, x, y, &st); else SB_FN(twin)(n, x, y, &st);
#define SB_PASS_ROW(alg, pass_name, fn_, fn_nt_, twin_, twin_nt_, read_x_, read_y_, write_y_, merge_) \
    {.algorithm = alg, .pass = pass_name, .fn = SB_FN(fn_), .twin = SB_FN(twin_), .read_x = read_x_,    \
     .read_y = read_y_, .write_y = write_y_, .fn_nt = SB_FN(fn_nt_), .twin_nt = SB_FN(twin_nt_), .merge = merge_},

#define SB_ALGORITHM(name, ident, passes, read_x, read_y, write_y, rfo, exps, max_abs_x)                    \
    static inline void SB_FN(ident##_impl)(size_t n, const float *x, float *y, const int nt) {              \
        if (n == 0) return;                                                                                 \
        sb_state st;                                                                                        \
        SB_PASSES_##ident(SB_RUN_PASS, name)                                                                \
    }                                                                                                       \
    SB_DEFINE_VARIANTS(ident)                                                                               \
    static inline void SB_FN(ident##_twin_impl)(size_t n, const float *x, float *y, const int nt) {         \
        if (n == 0) return;                                                                                 \
        sb_state st;                                                                                        \
        SB_PASSES_##ident(SB_RUN_TWIN, name)                                                                \
    }                                                                                                       \
    SB_DEFINE_VARIANTS(ident##_twin)
#include "kernels.def"
#undef SB_ALGORITHM

static const sb_kernel_entry sb_kernels[] = {
#define SB_ALGORITHM(name, ident, passes, read_x, read_y, write_y, rfo, exps, max_abs_x)                      \
    {.algorithm = name, .variant = "", .kernel = SB_FN(ident), .twin = SB_FN(ident##_twin)},                  \
    {.algorithm = name, .variant = "temporal", .kernel = SB_FN(ident##_temporal), .twin = SB_FN(ident##_twin_temporal)}, \
    {.algorithm = name, .variant = "nt", .kernel = SB_FN(ident##_nt), .twin = SB_FN(ident##_twin_nt)},
#include "kernels.def"
#undef SB_ALGORITHM
};

/* Every algorithm's passes, from the same SB_PASSES_<ident> lists. */
static const sb_pass_entry sb_passes[] = {
#define SB_ALGORITHM(name, ident, passes, read_x, read_y, write_y, rfo, exps, max_abs_x) \
    SB_PASSES_##ident(SB_PASS_ROW, name)
#include "kernels.def"
#undef SB_ALGORITHM
};

static const sb_stream_entry sb_streams[] = {
    {.name = "read", .kernel = SB_FN(stream_read), .read_bytes = 4, .write_bytes = 0},
    {.name = "write", .kernel = SB_FN(stream_write), .read_bytes = 0, .write_bytes = 4},
    {.name = "copy", .kernel = SB_FN(stream_copy), .read_bytes = 4, .write_bytes = 4},
    {.name = "scale", .kernel = SB_FN(stream_scale), .read_bytes = 4, .write_bytes = 4},
};

/* The layout of the structs Python reads through cffi's declarations (softbench/bridge/build.py CDEF_*):
 * checked at load, so a declaration that drifted from sb_common.h fails loudly, not silently. */
static const sb_abi_entry sb_abi[] = {
    SB_ABI_SIZE(sb_kernel_entry),
    SB_ABI_FIELD(sb_kernel_entry, algorithm),
    SB_ABI_FIELD(sb_kernel_entry, variant),
    SB_ABI_FIELD(sb_kernel_entry, kernel),
    SB_ABI_FIELD(sb_kernel_entry, twin),
    SB_ABI_SIZE(sb_stream_entry),
    SB_ABI_FIELD(sb_stream_entry, name),
    SB_ABI_FIELD(sb_stream_entry, kernel),
    SB_ABI_FIELD(sb_stream_entry, read_bytes),
    SB_ABI_FIELD(sb_stream_entry, write_bytes),
    SB_ABI_SIZE(sb_state),
    SB_ABI_FIELD(sb_state, max),
    SB_ABI_FIELD(sb_state, sum),
    SB_ABI_FIELD(sb_state, sum_exp),
    SB_ABI_SIZE(sb_pass_entry),
    SB_ABI_FIELD(sb_pass_entry, algorithm),
    SB_ABI_FIELD(sb_pass_entry, pass),
    SB_ABI_FIELD(sb_pass_entry, fn),
    SB_ABI_FIELD(sb_pass_entry, twin),
    SB_ABI_FIELD(sb_pass_entry, read_x),
    SB_ABI_FIELD(sb_pass_entry, read_y),
    SB_ABI_FIELD(sb_pass_entry, write_y),
    SB_ABI_FIELD(sb_pass_entry, fn_nt),
    SB_ABI_FIELD(sb_pass_entry, twin_nt),
    SB_ABI_FIELD(sb_pass_entry, merge),
};

const sb_abi_entry *SB_FN(abi_table)(size_t *count) {
    *count = sizeof sb_abi / sizeof sb_abi[0];
    return sb_abi;
}

/* The ISA's shape, for the tests' tail cases: floats per vector, and per unrolled iteration. */
const unsigned SB_FN(lanes) = SB_W;
const unsigned SB_FN(block_floats) = SB_VEC;

const sb_kernel_entry *SB_FN(kernel_table)(size_t *count) {
    *count = sizeof sb_kernels / sizeof sb_kernels[0];
    return sb_kernels;
}

const sb_pass_entry *SB_FN(pass_table)(size_t *count) {
    *count = sizeof sb_passes / sizeof sb_passes[0];
    return sb_passes;
}

const sb_stream_entry *SB_FN(stream_table)(size_t *count) {
    *count = sizeof sb_streams / sizeof sb_streams[0];
    return sb_streams;
}
