import os

from hypothesis import HealthCheck, settings

# CI machines are slow and noisy: no deadline, and enough examples to find a wrong rule. 100, not the
# 200 of a suite a third this size: the whole of .ci/run must stay under ten minutes on two cores.
settings.register_profile("ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
