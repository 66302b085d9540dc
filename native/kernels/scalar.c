/* Every softmax algorithm of kernels.def for scalar: the ISA's primitives and exp (isa/scalar.h),
 * then each algorithm's template, then this ISA's kernel table. */
#include "../isa/scalar.h"
#include "../algorithms/common_passes.h"
#include "../algorithms/three_pass_recompute.h"
#include "../algorithms/three_pass_reload.h"
#include "../algorithms/two_pass.h"
#include "../algorithms/online.h"

static const sb_kernel_entry table[] = {
#define SB_ALGORITHM(name, ident, passes, read_x, read_y, write_y, exps, max_abs_x) {name, SB_FN(ident)},
#include "../kernels.def"
#undef SB_ALGORITHM
};

const sb_kernel_entry *sb_kernel_table__scalar(size_t *count) {
    *count = sizeof table / sizeof table[0];
    return table;
}
