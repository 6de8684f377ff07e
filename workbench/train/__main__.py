"""`python -m workbench.train --job-dir DIR`: run one training job from its folder (see worker.py)."""
import argparse
import sys
from pathlib import Path

from workbench.train.worker import run

parser = argparse.ArgumentParser(prog="python -m workbench.train", description=__doc__)
parser.add_argument("--job-dir", required=True, type=Path, help="the job folder written at submit (data/jobs/<id>)")
sys.exit(run(parser.parse_args().job_dir))
