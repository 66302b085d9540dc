/* softbench's kernels for avx2: the ISA's vector primitives and exp, then every algorithm. */
#include "../isa/avx2.h"
#include "../instantiate.h"
