"""Whether another process of this machine still runs (a worker's claims and metrics outlive a kill)."""
from __future__ import annotations

import os


def alive(pid: int) -> bool:
    """The process exists: signal 0 reaches it, or it is someone else's (PermissionError)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
