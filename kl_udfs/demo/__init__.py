"""Deterministic demo tables with known ground truth, so kl-drift's findings can be checked."""
