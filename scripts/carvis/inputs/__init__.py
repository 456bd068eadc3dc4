"""Stage inputs: the config, the sample sheet and the FASTQ/BAM inputs, checked before any work."""
