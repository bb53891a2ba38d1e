"""Use cases shared by every front end (CLI now; REST API and web page later).

Each function takes plain arguments, composes the adapters (:mod:`coreatlas.io`) and
the core (:mod:`coreatlas.model`, :mod:`coreatlas.analysis`), and returns plain data or
result objects. Nothing here prints or knows about the command line or HTTP.
"""

from coreatlas.services.core import *  # noqa: F403
from coreatlas.services.demo import *  # noqa: F403
from coreatlas.services.indicators import *  # noqa: F403
from coreatlas.services.policy import *  # noqa: F403
