"""The operator's console: one local web page for the queues, the tasks and the DLQ.

Server-rendered HTML (starlette + jinja2, the ``console`` extra), no JavaScript build:
``taskworker console APP`` serves it, and ``taskworker dev`` serves it next to the API.
It talks to AWS with the process's own boto3 credentials; the browser only ever sees
HTML, never a credential. See :mod:`taskworker.console.safety` for who may do what.
"""

from taskworker.console.web import ConsoleConfig, create_app

__all__ = ["ConsoleConfig", "create_app"]
