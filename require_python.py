"""Stop a top-level script early, in one line, when the interpreter is too old.

Imported by each script before anything from ``panel_tracker``: the package uses syntax and
library calls of Python 3.10, which an older interpreter turns into a traceback. Written so
that Python 3.6 and newer can parse it. This is cli-layer code (it prints and exits), which is
why it lives beside the scripts and not in the library.
"""

import os
import sys

MINIMUM = (3, 10)

if sys.version_info < MINIMUM:
    sys.stderr.write(
        "error: found Python %d.%d.%d (%s), %s needs Python %d.%d or newer; "
        "run it with python%d.%d or newer\n"
        % (
            sys.version_info[0],
            sys.version_info[1],
            sys.version_info[2],
            sys.executable,
            os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "this script",
            MINIMUM[0],
            MINIMUM[1],
            MINIMUM[0],
            MINIMUM[1],
        )
    )
    sys.exit(2)
