"""carvis: was a tumour after CAR T-cell therapy derived from the CAR T cells?

The package holds all logic; the Snakemake rules in ``workflow/`` only wire files to it.
Nothing here imports Snakemake.
"""

__version__ = "0.1.0"
