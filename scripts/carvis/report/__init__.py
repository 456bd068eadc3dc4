"""Stage report: interpretation, HTML, VCF/BED, summary and cohort view."""
