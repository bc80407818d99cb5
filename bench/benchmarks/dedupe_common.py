"""dedupe_common.py - what the dedupe benchmarks (dedupe, dedupe-scale)
share: issue 5's tree, the tools compared, a fresh tree before every run,
and the untimed checks after it. Not a benchmark itself (no NAME).

The tree (issue 5): 20,000 files of 1 to 64 KiB in 1,000 directories (32
top directories, nested one level) and 30 files of 1 to 8 MiB; 30% of
them repeat the content of an earlier file of their own size class (exact
duplicates), the rest are distinct random bytes; seed 5.

Dedupe changes the tree it runs on, so every run, of every tool, gets a
tree of its own: the old one is removed, the same tree is generated again
from the seed (same names, same bytes), the filesystem is synced, its used
space read, and the page cache dropped (cold: reading is most of the work).
After the run its used space is read again (synced, btrfs transaction
committed): freed = before - after.
"""
import os
import shutil
from dataclasses import dataclass, field

from benchlib import cache, gen, measure, space, treecheck

SEED = 5
SPEC = gen.TreeSpec(small_files=20000, dirs=1000, medium_files=30, dup_fraction=0.3)
TREE = "tree"

NEEDS = ["mkfs.btrfs:btrfs-progs", "mkfs.xfs:xfsprogs", "jdupes:jdupes",
         "duperemove:duperemove", "rmlint:rmlint", "/usr/bin/time:time"]

# rmlint's clone handler: rmlint finds duplicate files (-T df: nothing else,
# so its script removes nothing) and writes a shell script whose only handler for
# each duplicate is `rmlint --dedupe` (FIDEDUPERANGE); the script then runs
# unattended (-d) and quietly (-q). Timed together: that is rmlint's dedupe.
RMLINT = ("rmlint -T df -c sh:handler=clone -o sh:{script} -o summary:/dev/null {tree} "
          "&& sh {script} -d -q")


# The least any whole-file dedupe must do, as one process: list the tree
# with sizes (du -s), then read every file that has a duplicate once, 4
# readers in parallel (xargs -P4 cat). Every byte of every duplicate must
# be read to be compared; the kernel's compare and its metadata updates
# come on top. FreshTree writes the list (NUL-separated paths) when it
# first generates the tree.
FLOOR = "du -s {tree} >/dev/null && xargs -0 -P4 -n64 cat <{list} >/dev/null"


def floor_side(ctx, mnt, tree=TREE):
    """The floor above as a Side named "floor"."""
    lst = os.path.join(ctx.scratch.root, "duplicates.list")
    return measure.Side("floor", argv=["sh", "-c", FLOOR.format(tree=tree, list=lst)], cwd=mnt)


def describe(spec=SPEC):
    return (f"{spec.small_files:,} files of 1–64 KiB in {spec.dirs:,} directories and "
            f"{spec.medium_files} of 1–8 MiB, {spec.dup_fraction:.0%} of them exact duplicates "
            f"of an earlier file of their size class; seed {SEED}")


def tool_sides(ctx, mnt, tree=TREE):
    """The contenders, each a whole process run in mnt: cowcopy and the peers
    issue 5 names (jdupes -B, duperemove at 4 KiB blocks, rmlint's clone
    handler)."""
    script = os.path.join(ctx.scratch.root, "rmlint.sh")
    return [
        cowcopy_side(ctx, mnt, tree),
        measure.Side("jdupes", argv=["jdupes", "-r", "-B", "-q", tree], cwd=mnt),
        measure.Side("duperemove", argv=["duperemove", "-dr", "-q", "-b", "4096", tree], cwd=mnt),
        measure.Side("rmlint", argv=["sh", "-c", RMLINT.format(script=script, tree=tree)],
                     cwd=mnt),
    ]


def cowcopy_side(ctx, mnt, tree=TREE, extra=(), name="cowcopy"):
    return measure.Side(name, argv=[ctx.cowcopy, "dedupe", "--no-progress", *extra, tree],
                        cwd=mnt)


@dataclass
class Expected:
    """What the generated tree holds, for checking that a tool changed no
    file's content and which files it made share."""
    info: gen.TreeInfo
    digests: dict = field(default_factory=dict)   # relative path -> treecheck.digest
    sizes: dict = field(default_factory=dict)     # relative path -> size
    dup_paths: set = field(default_factory=set)   # files with a duplicate

    @property
    def perfect_bytes(self):
        """Bytes a perfect whole-file dedupe frees: every duplicate beyond
        the first of its group, rounded up to 4 KiB blocks."""
        total = 0
        for paths in self.info.groups.values():
            size = self.sizes[paths[0]]
            total += (len(paths) - 1) * ((size + 4095) // 4096 * 4096)
        return total


class FreshTree:
    """prepare/check for measure.rounds or measure.repeat: a fresh tree
    before every run, used space before and after it. `freed[name]` lists
    the bytes freed by each run of the side called name."""

    def __init__(self, ctx, mnt, spec=SPEC, tree=TREE, full_check=None):
        self.ctx, self.mnt, self.spec, self.tree = ctx, mnt, spec, tree
        self.root = os.path.join(mnt, tree)
        self.expected = None
        self.before = None
        self.freed = {}
        self.sharing = {}          # name -> (duplicates fully shared, duplicates, others sharing)
        self.full_check = full_check  # names checked in full after their first run (None: all)
        self._checked = set()

    def generate(self):
        """Remove the old tree, make it again from the seed, sync.
        @return the TreeInfo."""
        if os.path.lexists(self.root):
            shutil.rmtree(self.root)
        info = gen.make_tree(self.root, self.spec, seed=SEED)
        cache.sync(self.mnt)
        return info

    def prepare(self, side):
        info = self.generate()
        if self.expected is None:
            self.expected = expected_of(self.root, info)
            with open(os.path.join(self.ctx.scratch.root, "duplicates.list"), "wb") as f:
                for rel in sorted(self.expected.dup_paths):
                    f.write(os.fsencode(os.path.join(self.tree, rel)) + b"\0")
        self.before = space.used_bytes(self.mnt)
        cache.drop_caches()

    def check(self, side, run):
        after = space.used_bytes(self.mnt)
        self.freed.setdefault(side.name, []).append(self.before - after)
        if side.name in self._checked or \
                (self.full_check is not None and side.name not in self.full_check):
            return
        self._checked.add(side.name)
        changed = changed_files(self.root, self.expected)
        if changed:
            raise measure.BenchmarkError(f"{side.name} changed the content of {len(changed)} "
                                         f"files, e.g. {changed[0]}")
        self.sharing[side.name] = sharing_of(self.root, self.expected)


def expected_of(root, info):
    """Digests of every file of the freshly generated tree at root."""
    exp = Expected(info)
    for rel in _files(root):
        exp.digests[rel] = treecheck.digest(os.path.join(root, rel))
        exp.sizes[rel] = os.lstat(os.path.join(root, rel)).st_size
    for paths in info.groups.values():
        exp.dup_paths.update(paths)
    return exp


def changed_files(root, expected):
    """Relative paths whose content (or presence) differs from expected."""
    now = set(_files(root))
    out = sorted(set(expected.digests) ^ now)
    out += [rel for rel in sorted(now & set(expected.digests))
            if treecheck.digest(os.path.join(root, rel)) != expected.digests[rel]]
    return out


def sharing_of(root, expected):
    """(files of duplicate groups whose whole data is the same physical
    blocks as the group's other members, files of duplicate groups, files
    without a duplicate that now share an extent). Files whose data is
    inline in btrfs metadata cannot share and are left out of all three."""
    full = dups = others = 0
    for paths in expected.info.groups.values():
        maps = [treecheck.physical_map(os.path.join(root, p)) for p in paths]
        if maps[0] is None:  # inline
            continue
        # The group's most common map is the one its members share.
        common = max(set(m for m in maps if m), key=maps.count, default=None)
        dups += len(paths)
        full += sum(m == common for m in maps) if maps.count(common) > 1 else 0
    for rel in expected.digests:
        if rel in expected.dup_paths:
            continue
        m = treecheck.physical_map(os.path.join(root, rel), shared_only=True)
        others += bool(m)
    return full, dups, others


def _files(root):
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            yield os.path.relpath(os.path.join(dirpath, name), root)
