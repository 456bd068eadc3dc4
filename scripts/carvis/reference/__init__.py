"""Stage reference: the vector model, the combined reference, the homology mask, preflight."""
