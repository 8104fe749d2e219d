"""The PyInstaller bundle's entry script: exactly what the ``segment-desktop`` gui-script runs."""

import multiprocessing
import sys

if __name__ == "__main__":
    # The relay's render processes are spawned: in a frozen bundle they start this executable
    # again, and must become workers here instead of running the command line.
    multiprocessing.freeze_support()
    from segment_desktop.cli import main

    sys.exit(main())
