"""AWS plumbing: lazily built clients (:mod:`.clients`) and the one batched-call helper (:mod:`.batch`).

Neither module imports boto3 or botocore at import time, so the core can depend on them.
"""

from taskworker.aws.clients import SERVICES, Clients

__all__ = ["SERVICES", "Clients"]
