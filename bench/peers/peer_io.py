"""What every peer script shares; standard library only, as the peers' virtualenvs hold no
kl-drift. The scripts import it as a sibling (their folder is first on sys.path)."""

from __future__ import annotations


def peak_rss_mib() -> float:
    """This process's own peak RSS (VmHWM). Not ru_maxrss: Linux carries that over exec, so
    a child would report the size of the process that started it."""
    with open("/proc/self/status") as status:
        line = next(x for x in status if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024
