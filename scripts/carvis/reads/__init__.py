"""Stage reads: k-mer screening, BAM/CRAM extraction, alignment commands, read accounting."""
