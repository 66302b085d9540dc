/* softbench's kernels for sse2: the ISA's vector primitives and exp, then every algorithm. */
#include "../isa/sse2.h"
#include "../instantiate.h"
