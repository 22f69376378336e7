#!/usr/bin/env python3
"""CPU and memory of a process and all its descendants, from /proc, over a window.

    bench_proc_tree.py PID SECONDS [INTERVAL]

Used by `scripts/bench.sh browser` to measure mimamori with the Chromium it
starts. Prints one line of `key=value` pairs:

  root_cpu    user+sys seconds of PID itself over the window
  tree_cpu    user+sys seconds of PID and every descendant over the window,
              including descendants that started and ended inside it (their
              time is in their parent's cutime/cstime once reaped)
  rss_mean / rss_peak   sum of VmRSS of the descendants (not PID), MB, sampled
  pss_mean / pss_peak   the same as PSS (shared pages divided among sharers), MB
  root_rss    VmRSS of PID at the end, MB
  procs_mean / procs_peak   number of descendants
"""
import os
import sys
import time

HZ = os.sysconf("SC_CLK_TCK")


def stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    # The command name may hold spaces and parentheses: split after the last ')'.
    rest = s[s.rindex(")") + 2 :].split()
    ppid = int(rest[1])
    utime, stime, cutime, cstime = (int(x) for x in rest[11:15])
    return ppid, utime + stime, cutime + cstime


def tree(root):
    """{pid: (own ticks, reaped children's ticks)} of root and its descendants."""
    procs = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                procs[int(d)] = stat(d)
            except (OSError, ValueError):
                pass
    children = {}
    for pid, (ppid, _, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = {}, [root]
    while todo:
        p = todo.pop()
        if p in procs:
            out[p] = procs[p][1:]
            todo.extend(children.get(p, []))
    return out


def kb(pid, field, file="status"):
    try:
        with open(f"/proc/{pid}/{file}") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def total(t):
    return sum(own + reaped for own, reaped in t.values())


def main():
    root, secs = int(sys.argv[1]), float(sys.argv[2])
    step = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
    t0 = tree(root)
    r0 = t0[root][0]
    rss, pss, procs = [], [], []
    end = time.monotonic() + secs
    while time.monotonic() < end:
        time.sleep(min(step, max(0.0, end - time.monotonic())))
        t = tree(root)
        kids = [p for p in t if p != root]
        rss.append(sum(kb(p, "VmRSS") for p in kids) / 1024)
        pss.append(sum(kb(p, "Pss", "smaps_rollup") for p in kids) / 1024)
        procs.append(len(kids))
    t1 = tree(root)
    # A descendant alive at the start and gone at the end: its time (all of
    # it) is now in an ancestor's cutime, so subtracting its start share once
    # is right; total() over each snapshot does exactly that.
    tree_cpu = (total(t1) - total(t0)) / HZ
    root_cpu = (t1[root][0] - r0) / HZ
    mean = lambda v: sum(v) / len(v) if v else 0.0
    print(
        f"root_cpu={root_cpu:.2f} tree_cpu={tree_cpu:.2f} "
        f"rss_mean={mean(rss):.1f} rss_peak={max(rss, default=0):.1f} "
        f"pss_mean={mean(pss):.1f} pss_peak={max(pss, default=0):.1f} "
        f"root_rss={kb(root, 'VmRSS') / 1024:.1f} "
        f"procs_mean={mean(procs):.1f} procs_peak={max(procs, default=0)}"
    )


if __name__ == "__main__":
    main()
