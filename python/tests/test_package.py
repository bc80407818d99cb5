"""test_package.py - the package as installed: API surface, stubs, docs, layering.

No scratch filesystem needed. Checks that the drop-ins keep shutil's
signatures, that the type stubs and py.typed are installed and agree with the
code, that every public name is documented, that the extension sees only the
public header, and that python/README.md lists every test_shutil exclusion.
"""
import ast
import inspect
import os
import re
import shutil
import unittest

import support

import cowcopy

PACKAGE_DIR = os.path.dirname(cowcopy.__file__)
SOURCE_DIR = os.path.join(support.TOP, "python")


class ApiTest(unittest.TestCase):
    def test_version_is_the_librarys(self):
        with open(os.path.join(support.TOP, "include", "cowcopy.h"), encoding="utf-8") as f:
            header = re.search(r'#define COWCOPY_VERSION_STRING "([^"]+)"', f.read()).group(1)
        self.assertEqual(cowcopy.__version__, header)
        from importlib.metadata import version
        self.assertEqual(version("cowcopy"), header)

    def test_all_names_exist_and_are_documented(self):
        for name in cowcopy.__all__:
            obj = getattr(cowcopy, name)
            self.assertTrue(inspect.getdoc(obj), name)
        self.assertTrue(cowcopy.__doc__)
        self.assertTrue(cowcopy._cowcopy.copy_file.__doc__)
        self.assertIs(cowcopy.Error, shutil.Error)
        self.assertIs(cowcopy.SpecialFileError, shutil.SpecialFileError)

    def test_shutil_signatures_are_kept(self):
        # shutil's parameters, in order, with their kinds and defaults; then
        # cowcopy's additions, keyword-only.
        added = {"copyfile": ["reflink"], "copy": ["reflink"], "copy2": ["reflink"],
                 "copytree": ["reflink", "threads"]}
        for name, extra in added.items():
            ours = list(inspect.signature(getattr(cowcopy, name)).parameters.values())
            theirs = list(inspect.signature(getattr(shutil, name)).parameters.values())
            self.assertEqual([p.name for p in ours], [p.name for p in theirs] + extra, name)
            for a, b in zip(ours, theirs):
                self.assertEqual(a.kind, b.kind, (name, a.name))
                if b.name != "copy_function":  # shutil's default is copy2; ours None = copy2
                    self.assertEqual(a.default, b.default, (name, a.name))
            for p in ours[len(theirs):]:
                self.assertEqual(p.kind, p.KEYWORD_ONLY, (name, p.name))


class StubTest(unittest.TestCase):
    def stub(self, name):
        path = os.path.join(PACKAGE_DIR, name)
        self.assertTrue(os.path.isfile(path), f"{path} is not installed")
        with open(path, encoding="utf-8") as f:
            return ast.parse(f.read())

    def test_py_typed_is_installed(self):
        self.assertTrue(os.path.isfile(os.path.join(PACKAGE_DIR, "py.typed")))

    def test_package_stub_matches_the_code(self):
        tree = self.stub("__init__.pyi")
        functions = {}
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                functions.setdefault(node.name, node)  # the first of overloads
        names = {node.name for node in tree.body
                 if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
        imported = {alias.asname or alias.name for node in tree.body
                    if isinstance(node, ast.ImportFrom) for alias in node.names}
        for name in cowcopy.__all__:
            self.assertIn(name, names | imported, name)
        for name, node in functions.items():
            args = node.args
            params = [a.arg for a in args.posonlyargs + args.args]
            params += [args.vararg.arg] if args.vararg else []
            params += [a.arg for a in args.kwonlyargs]
            actual = list(inspect.signature(getattr(cowcopy, name)).parameters)
            self.assertEqual(params, actual, name)
        # Every named tuple's fields, in order.
        classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
        tuples = [name for name in cowcopy.__all__ if hasattr(getattr(cowcopy, name), "_fields")]
        self.assertIn("CopyResult", tuples)
        self.assertIn("DedupeReport", tuples)
        for name in tuples:
            fields = [n.target.id for n in classes[name].body if isinstance(n, ast.AnnAssign)]
            self.assertEqual(fields, list(getattr(cowcopy, name)._fields), name)

    def test_extension_stub_matches_the_module(self):
        tree = self.stub("_cowcopy.pyi")
        declared = {n.target.id for n in tree.body if isinstance(n, ast.AnnAssign)}
        declared |= {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        public = {n for n in dir(cowcopy._cowcopy) if not n.startswith("_")}
        self.assertEqual(declared, public)


class LayeringTest(unittest.TestCase):
    def test_extension_includes_only_the_public_header(self):
        with open(os.path.join(SOURCE_DIR, "cowcopy", "_cowcopy.c"), encoding="utf-8") as f:
            includes = re.findall(r'^\s*#\s*include\s*([<"][^>"]+[>"])', f.read(), re.M)
        self.assertEqual(includes, ["<Python.h>", '"cowcopy.h"'])

    def test_every_source_file_says_what_it_is_for(self):
        files = [os.path.join(SOURCE_DIR, "setup.py"), os.path.join(SOURCE_DIR, "cowcopy",
                                                                     "__init__.py")]
        files += [os.path.join(SOURCE_DIR, "cowcopy", n) for n in ("_cowcopy.c", "__init__.pyi",
                                                                   "_cowcopy.pyi")]
        tests = os.path.join(SOURCE_DIR, "tests")
        files += [os.path.join(tests, n) for n in os.listdir(tests) if n.endswith(".py")]
        for path in files:
            with open(path, encoding="utf-8") as f:
                head = f.read(300)
            name = os.path.basename(path)
            self.assertRegex(head, rf"^(\"\"\"|/\*\n \* |# ){re.escape(name)} - ", path)

    def test_readme_lists_every_test_shutil_exclusion(self):
        import test_shutil_compat
        with open(os.path.join(SOURCE_DIR, "README.md"), encoding="utf-8") as f:
            readme = f.read()
        for name in test_shutil_compat.EXCLUDED:
            self.assertIn(f"`{name}`", readme)


if __name__ == "__main__":
    support.main()
