"""Signals the worker sends; domain apps connect to them in their AppConfig.ready."""

from django.dispatch import Signal

# A task's worker stopped beating (killed, out of memory, machine lost) or the task ran over
# its time limit: the task result is marked FAILED. Arguments: task_path, args, kwargs, message.
task_abandoned = Signal()

# The worker is idle and it is time for housekeeping (orphaned files). No arguments.
housekeeping = Signal()
