"""Experiment scripts that reproduce paper-style comparison tables."""
