"""`python -m workbench <step>`: every step of the app, headless. See workbench/cli.py."""
import sys

from workbench.cli import main

sys.exit(main())
