"""Runtimes: each receives messages from its source and feeds them to the dispatcher.

- :mod:`~taskworker.handlers.lambda_sqs`: Lambda's SQS event source (partial batch failures).
- :mod:`~taskworker.handlers.worker`: the container worker, a long-polling consumer with
  thread or process pools (:mod:`~taskworker.handlers.worker_pool`), a visibility
  heartbeat (:mod:`~taskworker.handlers.heartbeat`), batched settling
  (:mod:`~taskworker.handlers.settle`) and FIFO group order (:mod:`~taskworker.handlers.groups`).
"""
