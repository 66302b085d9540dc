"""One reporter per output format: terminal (rich tables), json, markdown."""
