"""Semantic-noise attacks on the codec (sample-dependent PGD; later: universal, LDPC vulnerable-set)."""
