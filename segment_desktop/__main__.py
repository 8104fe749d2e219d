import sys

from segment_desktop.cli import main

sys.exit(main())
