import os
import time

STARTED = time.time()


def check(environ):
    uptime = time.time() - STARTED
    if __debug__:
        detail = f" pid={os.getpid()}"
    else:
        detail = ""
    return "200 OK", f"ok uptime={uptime:.0f}s{detail}"
