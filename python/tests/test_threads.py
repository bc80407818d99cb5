"""test_threads.py - cowcopy from many Python threads at once.

The extension releases the GIL while the library copies, and the library is
thread-safe: copies from many threads must all be right (clones proven by
extents where the filesystem clones), racing copies onto one destination must
leave one complete copy and no debris, and Python code must keep running
while a long copy, or a tree copy, is under way. Tree copies from several
Python threads, each with its own worker threads, must all be whole.
"""
import os
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import support
from support import (FsTestCase, LibrarySpy, is_clone_of, listing, on_filesystems, read,
                     write_random)

import cowcopy

THREADS = 16


@on_filesystems("btrfs", "xfs", "ext4")
class ManyThreadsTest(FsTestCase):
    def test_many_threads_many_files(self):
        os.mkdir(self.path("src"))
        sizes = {}
        for i in range(64):
            sizes[i] = (i * 7919) % 300000 + 1
            write_random(self.path("src", str(i)), sizes[i], i)
        functions = (cowcopy.copyfile, cowcopy.copy, cowcopy.copy2, cowcopy.copy_file)

        def work(i):
            fn = functions[i % len(functions)]
            return fn(self.path("src", str(i)), self.path("dst", str(i)))

        os.mkdir(self.path("dst"))
        with ThreadPoolExecutor(THREADS) as pool:
            results = list(pool.map(work, range(64)))
        self.assertEqual(len(results), 64)
        for i in range(64):
            self.assertEqual(read(self.path("dst", str(i))), read(self.path("src", str(i))))
            if self.fs in support.COW_FILESYSTEMS and sizes[i] >= 65536:  # not inline
                self.assertTrue(is_clone_of(self.path("dst", str(i)), self.path("src", str(i))), i)
        self.assertEqual(listing(self.path("dst")), sorted(str(i) for i in range(64)))

    def test_threads_racing_onto_one_destination(self):
        for i in range(THREADS):
            write_random(self.path(f"s{i}"), 200000 + i, 100 + i)
        barrier = threading.Barrier(THREADS)
        errors = []

        def work(i):
            barrier.wait()
            for _ in range(10):
                try:
                    cowcopy.copy2(self.path(f"s{i}"), self.path("dst"))
                except Exception as e:  # collected and reported below
                    errors.append(e)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        final = read(self.path("dst"))
        self.assertIn(final, [read(self.path(f"s{i}")) for i in range(THREADS)])
        self.assertEqual(listing(self.dir), sorted([f"s{i}" for i in range(THREADS)] + ["dst"]))

    def test_errors_from_many_threads_name_their_own_files(self):
        def work(i):
            src, dst = self.path(f"missing-{i}"), self.path(f"out-{i}")
            try:
                cowcopy.copyfile(src, dst)
            except FileNotFoundError as e:
                return (e.filename, e.filename2) == (src, dst)
            return False

        with ThreadPoolExecutor(THREADS) as pool:
            self.assertTrue(all(pool.map(work, range(200))))
        self.assertEqual(listing(self.dir), [])


class GilReleaseTest(FsTestCase):
    fs = "ext4"

    def test_python_runs_while_a_copy_is_under_way(self):
        # The library reads a named pipe until its end (copy_file does not
        # refuse pipes as copyfile does); the writer takes half a second to
        # come. If the GIL were held meanwhile, the counting loop below could
        # not run until the copy returned.
        os.mkfifo(self.path("pipe"))
        writer = subprocess.Popen(["sh", "-c", f"sleep 0.5; echo data > '{self.path('pipe')}'"])
        self.addCleanup(writer.wait)
        entering, leaving = [], []
        done = threading.Event()
        result = []

        def copier():
            entering.append(time.monotonic())
            result.append(cowcopy.copy_file(self.path("pipe"), self.path("copy")))
            leaving.append(time.monotonic())
            done.set()

        thread = threading.Thread(target=copier)
        thread.start()
        # Note when the loop runs from 0.1 s after the copier entered the
        # library; afterwards, count the iterations that ran before the copy
        # returned (with a margin): none can if the GIL is held meanwhile.
        seen = []
        deadline = time.monotonic() + 60
        while not done.is_set() and time.monotonic() < deadline:
            now = time.monotonic()
            if entering and now > entering[0] + 0.1:
                seen.append(now)
        thread.join()
        self.assertGreater(leaving[0] - entering[0], 0.3)
        ticks = sum(1 for t in seen if t < leaving[0] - 0.05)
        self.assertEqual(result[0].method, "copied")
        self.assertEqual(read(self.path("copy")), b"data\n")
        # Some 10^4 iterations per 10 ms here; none if the GIL were held.
        self.assertGreater(ticks, 10000, f"only {ticks} iterations while copying")


def make_grid(root, dirs, files, size):
    """dirs directories of files files of size bytes under root."""
    for d in range(dirs):
        os.makedirs(os.path.join(root, f"d{d}"))
        for f in range(files):
            write_random(os.path.join(root, f"d{d}", f"f{f}"), size, d * 1000 + f)


@on_filesystems("btrfs", "ext4")
class TreeThreadsTest(FsTestCase):
    def test_tree_copies_from_several_threads(self):
        make_grid(self.path("src"), 8, 25, 70000)

        def work(i):
            return cowcopy.copytree(self.path("src"), self.path(f"dst{i}"), threads=2)

        with LibrarySpy() as spy, ThreadPoolExecutor(4) as pool:
            results = list(pool.map(work, range(4)))
        self.assertEqual(results, [self.path(f"dst{i}") for i in range(4)])
        self.assertEqual(len(spy.tree_calls), 4)
        self.assertTrue(all(call[5]["threads"] == 2 for call in spy.tree_calls))
        for i in range(4):
            for d in range(8):
                for f in range(25):
                    rel = os.path.join(f"d{d}", f"f{f}")
                    dst = self.path(f"dst{i}", rel)
                    self.assertEqual(read(dst), read(self.path("src", rel)))
                    if self.fs in support.COW_FILESYSTEMS:
                        self.assertTrue(is_clone_of(dst, self.path("src", rel)), dst)


class TreeGilReleaseTest(FsTestCase):
    fs = "ext4"

    def test_python_runs_while_a_tree_is_copied(self):
        # 3,000 real copies (no clones on ext4, no copy_file_range with
        # reflink="never") in another thread, one worker; count the loop's
        # iterations while the library call is under way.
        make_grid(self.path("src"), 30, 100, 20000)
        inside = []
        done = threading.Event()
        real = cowcopy._cowcopy

        class Timed:
            def __getattr__(self, name):
                return getattr(real, name)

            @staticmethod
            def tree_copy(*args):
                inside.append(time.monotonic())
                try:
                    return real.tree_copy(*args)
                finally:
                    inside.append(time.monotonic())

        def copier():
            cowcopy.copytree(self.path("src"), self.path("dst"), reflink="never", threads=1)
            done.set()

        cowcopy._cowcopy = Timed()
        try:
            thread = threading.Thread(target=copier)
            thread.start()
            seen = []
            deadline = time.monotonic() + 120
            while not done.is_set() and time.monotonic() < deadline:
                seen.append(time.monotonic())
            thread.join()
        finally:
            cowcopy._cowcopy = real
        start, end = inside
        ticks = sum(1 for t in seen if start + 0.005 < t < end - 0.005)
        self.assertGreater(end - start, 0.03)  # about 0.15 s here
        # Thousands of iterations per millisecond here; none if the GIL
        # were held for the whole call.
        self.assertGreater(ticks, 1000 * (end - start), f"{ticks} in {end - start:.3f} s")
        self.assertEqual(sum(len(files) for _, _, files in os.walk(self.path("dst"))), 3000)


if __name__ == "__main__":
    support.main()
