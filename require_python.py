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
    found = ".".join(str(part) for part in sys.version_info[:3])
    script = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "this script"
    need = f"{MINIMUM[0]}.{MINIMUM[1]}"
    sys.stderr.write(
        f"error: found Python {found} ({sys.executable}), {script} needs Python {need} "
        f"or newer; run it with python{need} or newer\n"
    )
    sys.exit(2)
