"""The PyInstaller bundle's entry script: exactly what the ``segment-desktop`` gui-script runs."""

import sys

from segment_desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())
