import sys

from bench.run import main

if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except KeyboardInterrupt:
        print("\nbench: interrupted (every process it started is stopped)", file=sys.stderr)
        raise SystemExit(130)
