"""The only modules that import heavy or hardware-facing libraries, each lazily and each alone."""
