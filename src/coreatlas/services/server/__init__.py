"""The server's use cases (issue 13), over :mod:`coreatlas.store`: the REST API calls these only.

``open_server(db_url, data_dir) -> Server``; a :class:`Server` authenticates callers
(tokens, passwords, sessions with CSRF), filters everything by the caller's memberships (a
workspace the caller cannot see is not found), and offers datasets, static runs, jobs and their
workers, comments, saved scenarios and views, the audit log, administration and backups.
Lists take a :class:`Page` and answer ``{"items", "total", "offset", "limit"}``.
"""

from coreatlas.services.server.base import MAX_PAGE, ROLE_RANK, SCOPE_RANK, SYSTEM, Caller, Page
from coreatlas.services.server.datasets import LIMITS, PATH_FIELDS, unpack_zip
from coreatlas.services.server.runs import JOB_KINDS, STATIC_USE_CASES, JobStopped, run_one, run_worker
from coreatlas.services.server.server import BOOTSTRAP, Server, open_server

__all__ = ["BOOTSTRAP", "JOB_KINDS", "LIMITS", "MAX_PAGE", "PATH_FIELDS", "ROLE_RANK", "SCOPE_RANK", "STATIC_USE_CASES", "SYSTEM", "Caller",
           "JobStopped", "Page", "Server", "open_server", "run_one", "run_worker", "unpack_zip"]  # fmt: skip
