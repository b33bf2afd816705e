"""Start the web UI on the sample articles: `python app.py` (the same as `qa serve`)."""

import sys

from qa.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["serve", *sys.argv[1:]]))
