"""The peak memory of this process."""

import resource
import sys


def peak_memory_mb():
    """The most resident memory this process has held, in MB (2**20 bytes).

    On Linux this is the `VmHWM` of `/proc/self/status`, which belongs to
    the process's own address space. `getrusage`'s `ru_maxrss` is not used
    there: Linux carries it over `fork` and `exec`, so a child started by a
    large process reports at least its parent's peak (every benchmark child
    of `keras-rra benchmark speed` showed the parent's 1105 MB).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # macOS gives bytes, the other systems KiB.
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


if __name__ == "__main__":
    print(peak_memory_mb())
