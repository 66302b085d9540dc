/* Every softmax algorithm of kernels.def for neon: the ISA's primitives and exp (isa/neon.h),
 * then each algorithm's template, then this ISA's kernel table. */
#include "../isa/neon.h"
#include "../algorithms/common_passes.h"
#include "../algorithms/three_pass_recompute.h"
#include "../algorithms/three_pass_reload.h"
#include "../algorithms/two_pass.h"
#include "../algorithms/online.h"
#include "../algorithms/twins.h"

static const sb_kernel_entry table[] = {
#define SB_ALGORITHM(name, ident, passes, read_x, read_y, write_y, exps, max_abs_x) {name, SB_FN(ident), SB_FN(ident##_twin)},
#include "../kernels.def"
#undef SB_ALGORITHM
};

static const sb_stream_entry stream_table[] = {
    {"read", SB_FN(stream_read), 4, 0},
    {"write", SB_FN(stream_write), 0, 4},
    {"copy", SB_FN(stream_copy), 4, 4},
    {"scale", SB_FN(stream_scale), 4, 4},
};

const sb_stream_entry *sb_stream_table__neon(size_t *count) {
    *count = sizeof stream_table / sizeof stream_table[0];
    return stream_table;
}

const sb_kernel_entry *sb_kernel_table__neon(size_t *count) {
    *count = sizeof table / sizeof table[0];
    return table;
}
