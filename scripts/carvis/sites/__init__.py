"""Stage sites: integration sites, clonal fraction and gene annotation."""
