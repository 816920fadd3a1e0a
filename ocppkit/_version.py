#: The version of this ocppkit release (PEP 440), as in the package metadata.
__version__ = "0.1.0"
