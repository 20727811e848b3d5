"""Command line of the library: ``python -m patchseq_ml predict ...`` (see ``predict.py``)."""

import sys

from .predict import main

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] != "predict":
        sys.exit("usage: python -m patchseq_ml predict FILE.nwb [...] --model MODEL [--json]")
    sys.exit(main(sys.argv[2:]))
