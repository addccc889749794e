"""indexcalc: commodity-futures index calculation and publishing."""

__version__ = "0.1.0"
METHODOLOGY_VERSION = "1.0.0"
