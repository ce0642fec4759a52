"""keep_freed_memory: a loop's large temporaries reuse freed memory, without fresh page faults."""

import subprocess
import sys

import pytest

# In a child process: the setting is process-wide and stays for the process's life.
PROBE = """
import resource, sys, torch
from stylevideo.runtime import keep_freed_memory
if sys.argv[1] == "1" and not keep_freed_memory():
    print("unsupported"); raise SystemExit
x = torch.ones(16 * 2**20)  # 64 MiB
def faults_of_one_iteration():  # two 64 MiB temporaries, written once each, then freed
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    y = x * 2
    z = y + 1
    del y, z
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print([faults_of_one_iteration() for _ in range(8)][-1])
"""


def _faults_of_the_last_iteration(keep: bool) -> str:
    out = subprocess.run([sys.executable, "-c", PROBE, str(int(keep))], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_a_training_loop_stops_page_faulting():
    kept = _faults_of_the_last_iteration(True)
    if kept == "unsupported":
        pytest.skip("the C library has no mallopt (not glibc)")
    pages = 2 * 64 * 2**20 // 4096
    assert int(_faults_of_the_last_iteration(False)) >= pages  # glibc's default: fresh mmaps each time
    assert int(kept) < pages // 100
