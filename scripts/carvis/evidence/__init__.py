"""Stage evidence: vector-host junction evidence from the alignments."""
