import os

from hypothesis import HealthCheck, settings

# CI machines are slow and noisy: no deadline, and enough examples to find a wrong rule. 60, not the
# 200 of a suite a third this size: the whole of .ci/run (installs, 2,460 tests, the docs) must stay under
# ten minutes on two cores, and on this project's machine it took 9 min 05 s with 100 and 8 to 9 min 14 s
# with 80 (2026-12-03, a day the machine ran about half as fast as before).
settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=50, deadline=None)
# Which values a rule reads depends on the operation and its options, not on the numbers drawn: a few
# examples of each test cover it (test_release.py runs the operations' tests so).
settings.register_profile("reads", max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
