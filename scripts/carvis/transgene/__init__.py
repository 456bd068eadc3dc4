"""Stage transgene: detection and vector copy number."""
