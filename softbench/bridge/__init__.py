"""The native bridge: compiling the C kernels (cffi), caching and loading them."""
