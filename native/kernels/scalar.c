/* softbench's kernels for scalar: the ISA's vector primitives and exp, then every algorithm. */
#include "../isa/scalar.h"
#include "../instantiate.h"
