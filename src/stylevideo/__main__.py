"""`python -m stylevideo ...` is the same command as `lightning ...`."""

from stylevideo.cli import main

if __name__ == "__main__":
    main()
