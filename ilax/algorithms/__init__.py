"""Imitation learners, one subpackage each (config.py, losses.py, learner.py).

Every learner is a `Learner(init, update, make_policy)` of pure functions
(see `ilax.types`); `ilax.algorithms.bc` is the supervised base the others
build on.
"""
