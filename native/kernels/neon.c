/* softbench's kernels for neon: the ISA's vector primitives and exp, then every algorithm. */
#include "../isa/neon.h"
#include "../instantiate.h"
