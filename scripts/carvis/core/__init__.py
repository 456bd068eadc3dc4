"""Shared building blocks: tables, intervals, errors, files, sequences, logs, the run lock."""
