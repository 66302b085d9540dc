/* softbench's kernels for avx512f: the ISA's vector primitives and exp, then every algorithm. */
#include "../isa/avx512f.h"
#include "../instantiate.h"
