"""The tool's version, in a module of its own so that any layer can read it without importing the
package's public face (softbench/__init__.py imports the API, which imports the layers)."""

__version__ = "0.1.0"
