"""`python -m openchannels.cli`, for when the `openchannels` script is not installed."""
import sys

from openchannels.cli import main

sys.exit(main())
