"""A fake LLM command that never answers: it writes its pid to the file named by its argument
list's last element (when it ends in .pid) and sleeps far past any timeout."""

import os
import sys
import time

if sys.argv[-1].endswith(".pid"):
    with open(sys.argv[-1], "w") as pid_file:
        pid_file.write(str(os.getpid()))
time.sleep(300)
