"""``python -m stylevideo.methods.vidstyleode``: see :mod:`stylevideo.methods.vidstyleode.cli`."""

from stylevideo.methods.vidstyleode.cli import main

main()
