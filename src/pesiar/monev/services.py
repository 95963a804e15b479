"""Monev's functions in one place for views, reports and commands (each lives in its module:
scope, figures, dashboard, rankings, maps, boundary_files, charts)."""

from pesiar.monev.boundary_files import *  # noqa: F403
from pesiar.monev.charts import *  # noqa: F403
from pesiar.monev.dashboard import *  # noqa: F403
from pesiar.monev.figures import *  # noqa: F403
from pesiar.monev.maps import *  # noqa: F403
from pesiar.monev.rankings import *  # noqa: F403
from pesiar.monev.scope import *  # noqa: F403
