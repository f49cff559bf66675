"""Where Glue puts a run's output in CloudWatch Logs: group `<LogGroupName>/output` (stdout) and `/error` (stderr),
stream = the run id. The writer itself is shared by every service (mwaa_local/cloud/log_writer.py)."""

from __future__ import annotations

from mwaa_local.cloud.log_writer import MAX_EVENT_CHARS, LogWriter

__all__ = ["MAX_EVENT_CHARS", "LogWriter", "log_group_prefix"]


def log_group_prefix(command_name: str) -> str:
    return "/aws-glue/python-jobs" if command_name == "pythonshell" else "/aws-glue/jobs"
