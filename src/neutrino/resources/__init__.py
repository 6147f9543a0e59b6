"""Resource definitions, composed once and frozen.

Features declare their resources and the attributes they add to others as data
(`feature.Feature`, one or more per module); `catalog.CATALOG` lists them in a
fixed order and `registry.compose` builds every resource from it.

Why the composition runs here: Python always runs a package's `__init__` to the end
before any `from neutrino.resources.<module> import <NAME>` hands the name over, and
whatever is imported first. Composing here, in place, makes `PORT` (and every other
resource) complete and frozen whenever anyone outside this package gets it, with no
change to the import lines of the rest of the code base, and the result cannot
depend on import order: the catalog fixes it. Modules of this package must not use
the composed attributes at import time (they see their own base ones only).
"""

from neutrino.resources.catalog import CATALOG
from neutrino.resources.registry import Registry, compose

REGISTRY: Registry = compose(CATALOG, in_place=True)
