"""The phases of `make bench`, in the order `bench/run.py` runs them, each `python -m bench.phases.NAME`:
starter, policy_cv, serving, keras_predict, e2e, then `supportbot benchmark` on BANKING77, then scaling."""
