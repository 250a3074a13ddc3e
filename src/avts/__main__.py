import sys

from avts.cli import main

sys.exit(main())
