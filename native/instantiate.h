/* Instantiates, for the ISA whose isa/<isa>.h was included just before, every algorithm of
 * kernels.def with its traffic twin, the STREAM kernels, and the tables the Python side reads:
 * sb_kernel_table__<isa>, sb_pass_table__<isa> and sb_stream_table__<isa>. */
#include "algorithms/common_passes.h"
#include "algorithms/twins.h"
#include "algorithms/three_pass_recompute.h"
#include "algorithms/three_pass_reload.h"
#include "algorithms/two_pass.h"
#include "algorithms/online.h"

static const sb_kernel_entry sb_kernels[] = {
#define SB_ALGORITHM(name, ident, passes, read_x, read_y, write_y, rfo, exps, max_abs_x) \
    {name, "", SB_FN(ident), SB_FN(ident##_twin)},                                      \
    {name, "temporal", SB_FN(ident##_temporal), SB_FN(ident##_twin_temporal)},          \
    {name, "nt", SB_FN(ident##_nt), SB_FN(ident##_twin_nt)},
#include "kernels.def"
#undef SB_ALGORITHM
};

/* Every algorithm's passes, from the SB_PASSES_<ident> list beside its definition. */
static const sb_pass_entry sb_passes[] = {
#define SB_ALGORITHM(name, ident, passes, read_x, read_y, write_y, rfo, exps, max_abs_x) SB_PASSES_##ident
#include "kernels.def"
#undef SB_ALGORITHM
};

static const sb_stream_entry sb_streams[] = {
    {"read", SB_FN(stream_read), 4, 0},
    {"write", SB_FN(stream_write), 0, 4},
    {"copy", SB_FN(stream_copy), 4, 4},
    {"scale", SB_FN(stream_scale), 4, 4},
};

/* The sizes of the structs Python reads through cffi's declarations (softbench/build.py CDEF_*):
 * checked at load, so a declaration that drifted from sb_common.h fails loudly, not silently. */
const unsigned SB_FN(abi_sizes)[4] = {sizeof(sb_kernel_entry), sizeof(sb_stream_entry), sizeof(sb_pass_entry),
                                      sizeof(sb_state)};

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
