"""benchlib - the small library every cowcopy benchmark is written with.

Standard library only; run with Debian's /usr/bin/python3. The pieces:

  scratch   loop-mounted scratch filesystems (btrfs, XFS reflink=1, ext4,
            tmpfs) under /tmp/cowcopy-bench.*, always unmounted and removed,
            even on Ctrl-C, SIGTERM or SIGHUP; leftovers of a killed run are
            cleaned by the next one
  gen       data with fixed seeds: random files, sparse files, whole trees
            (small/medium/big/sparse files, symlinks, hard links, duplicates)
  cache     page-cache state: sync, drop caches, pre-warm files or trees
  measure   wall time, peak RSS and CPU time of whole processes (wait4),
            in-process timing of Python callables, interleaved A/B pairs
  stats     median, quartiles, min-max of samples and of per-pair ratios
  space     free-space deltas of a filesystem, measured after a sync
  report    machine facts, Markdown tables with target and PASS/MISS, and
            the RESULTS.md sections a benchmark owns
"""
