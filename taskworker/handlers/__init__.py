"""Runtimes: each receives messages from its source and feeds them to the dispatcher.

- :mod:`~taskworker.handlers.lambda_sqs`: Lambda's SQS event source (partial batch failures).
"""
