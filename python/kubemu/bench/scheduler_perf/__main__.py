import sys

from kubemu.bench.scheduler_perf.cli import main

sys.exit(main())
