"""Imitation learners, one package each, registered by name.

Every learner is a `Learner(fit_normalizer, init, update, make_policy)` of
pure functions (see `ilax.types`) built on `ilax.algorithms.base`; every
package registers one `registry.Algorithm` when imported. `bc` is the
supervised base the others build on; `docs/architecture.md` shows how to add
one.
"""
