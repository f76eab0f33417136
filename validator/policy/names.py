"""Name sets the analysers share: allowed and denied modules, dangerous APIs, safe dunders."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

ALLOWED_MODULES: Final = frozenset(
    {
        "__future__", "abc", "array", "bisect", "cmath", "collections", "contextlib", "copy",
        "dataclasses", "datetime", "decimal", "difflib", "enum", "fractions", "functools",
        "hashlib", "heapq", "itertools", "json", "logging", "math", "numbers", "numpy",
        "operator", "pprint", "random", "re", "statistics", "string", "textwrap", "time",
        "torch", "tqdm", "transformers", "typing", "typing_extensions", "unicodedata",
        "warnings",
    }
)

# Denied modules a script may still import for a few plain values: each maps to the only
# names it may reach (`print(..., file=sys.stderr)`). Anything else under it is EP104, the
# module itself stays a name (EP106), and no tenant policy can widen it.
RESTRICTED_MODULES: Final[dict[str, frozenset[str]]] = {
    # Plain read-only values besides the two streams: strings, ints, named tuples.
    "sys": frozenset(
        {"stdout", "stderr", "version_info", "maxsize", "float_info", "version", "platform",
         "byteorder", "hexversion"}
    ),
}

# What a script may reach on `sys.stdout` / `sys.stderr`: the text stream's ordinary
# surface. `.buffer`, `.raw`, `.fileno()`, `.detach()`, `.reconfigure()` and private members
# hand out the binary layers (whose class is `io.FileIO`, an `open`) or the descriptor.
STREAM_SURFACE: Final = frozenset(
    {"write", "writelines", "flush", "isatty", "encoding", "errors", "newlines",
     "line_buffering", "write_through", "closed", "writable", "readable", "seekable", "name",
     "mode"}
)
_STREAMS: Final = frozenset({"stdout", "stderr"})

# Never allowed, whatever the tenant policy says: process, file, network, interpreter access.
DENIED_MODULES: Final = frozenset(
    {
        "__builtin__", "_io", "_pickle", "_thread", "aiohttp", "asyncio", "atexit", "bdb",
        "builtins", "cPickle", "cProfile", "cffi", "cloudpickle", "code", "codeop",
        "concurrent", "copyreg", "ctypes", "dbm", "dill", "dis", "distutils", "doctest",
        "ensurepip", "faulthandler", "fcntl", "fileinput", "ftplib", "gc", "glob", "http",
        "httpx", "huggingface_hub", "imaplib", "imp", "importlib", "inspect", "io", "joblib",
        "linecache", "marshal", "mmap", "multiprocessing", "nt", "ntpath", "os", "pathlib",
        "pdb", "pickle", "pip", "pkgutil", "platform", "poplib", "posix", "posixpath",
        "profile", "pty", "pydoc", "requests", "resource", "runpy", "sched", "select",
        "selectors", "setuptools", "shelve", "shutil", "signal", "site", "smtplib", "socket",
        "socketserver", "sqlite3", "ssl", "subprocess", "sys", "sysconfig", "tarfile",
        "telnetlib", "tempfile", "termios", "threading", "timeit", "trace", "traceback",
        "tracemalloc", "tty", "types", "urllib", "urllib2", "urllib3", "venv", "webbrowser",
        "xmlrpc", "zipfile", "zipimport",
    }
)

# Not denied as imports (plain EP101), but must not be reached through an allowed module
# either: each can open files (`json.codecs.open`). `logging` is allowed itself (its file and
# socket handlers are off its allowlist in surface.json).
FILE_MODULES: Final = frozenset(
    {
        "bz2", "codecs", "compileall", "configparser", "gzip", "lzma", "mailbox", "netrc",
        "plistlib", "py_compile", "tokenize", "zipapp",
    }
)

# Parts of allowed packages that reach the network, load native code, spawn processes or
# unpickle: denied as import, attribute chain, `from x import y` or literal getattr.
DENIED_APIS: Final = frozenset(
    {
        "numpy.ctypeslib", "numpy.distutils", "numpy.f2py", "numpy.testing", "torch.classes",
        "torch.distributed", "torch.hub", "torch.jit.load", "torch.multiprocessing",
        "torch.compile", "torch.ops.load_library", "torch.package", "torch.utils.cpp_extension",
        "torch.utils.model_zoo", "torch.cuda.memory._record_memory_history",
        "transformers.dynamic_module_utils", "transformers.file_utils", "transformers.utils.hub",
        "transformers.pipeline", "transformers.pipelines",
    }
)

# Attribute names that hand out a denied module from any object, e.g. `array.ctypes._ctypes`
# or a module's private `_os`; kept narrow because plain attributes like `.code` are common.
SMUGGLING_ATTRS: Final = frozenset(
    {
        "_posixsubprocess", "builtins", "cffi", "codecs", "ctypes", "imp", "importlib",
        "linecache", "marshal",
        "multiprocessing", "nt", "os", "pickle", "posix", "pty", "shutil", "socket",
        "subprocess", "sys",
    }
)

# Of those, the plain words that are also ordinary field names (`config.os`): on an object
# the analysis cannot type they are a warning (EP108), because the runtime guard denies
# what the module could do; `.ctypes` (numpy's pointer helper), `.builtins`, `.importlib`,
# `.marshal` and every underscored form stay errors.
FIELD_LIKE_ATTRS: Final = frozenset(
    {
        "codecs", "linecache", "multiprocessing", "nt", "os", "pickle", "posix", "pty",
        "shutil", "socket", "subprocess", "sys",
    }
)

# Private attributes that hold a module object on ordinary objects
# (`warnings.catch_warnings()._module`, the classic jail gadget).
MODULE_HANDLE_ATTRS: Final = frozenset({"_module"})

DYNAMIC_CODE_BUILTINS: Final = frozenset({"eval", "exec", "compile", "__import__", "execfile"})
# Library entry points that compile or evaluate strings (string annotations, forward refs).
EVALUATING_APIS: Final = frozenset(
    {
        "typing.ForwardRef", "typing.get_type_hints", "typing_extensions.ForwardRef",
        "typing_extensions.get_type_hints",
    }
)
NAMESPACE_BUILTINS: Final = frozenset({"globals", "locals", "vars"})
INTERACTIVE_BUILTINS: Final = frozenset(
    {"breakpoint", "help", "input", "copyright", "credits", "license"}
)
REFLECTION_BUILTINS: Final = frozenset({"getattr", "setattr", "delattr", "hasattr"})
# `object.__setattr__(self, "x", v)` (a frozen dataclass's `__post_init__`) is `setattr`
# written the long way: called directly on `object` it meets the same checks; anywhere
# else the dunder is EP301. (`object.__getattribute__` stays EP301: reads are where escapes
# start, and the guard-bypass idiom of other sandboxes is a jail corpus case.)
OBJECT_REFLECTION_ATTRS: Final = frozenset({"__setattr__"})
OBJECT_REFLECTION: Final = frozenset(f"builtins.object.{n}" for n in OBJECT_REFLECTION_ATTRS)
OBJECT_SETTERS: Final = OBJECT_REFLECTION
REFLECTION_QUALNAMES: Final = frozenset(
    {f"builtins.{n}" for n in REFLECTION_BUILTINS}
    | {"operator.attrgetter", "operator.methodcaller"}
    | OBJECT_REFLECTION
)

FRAME_ATTRS: Final = frozenset(
    {
        "ag_code", "ag_frame", "co_code", "co_consts", "cr_code", "cr_frame", "f_back",
        "f_builtins", "f_code", "f_globals", "f_locals", "f_trace", "func_globals", "gi_code",
        "gi_frame", "gi_yieldfrom", "tb_frame", "tb_next",
    }
)

# Dunders that are plain object protocol, not a way out of the sandbox.
SAFE_DUNDERS: Final = frozenset(
    {
        "__abs__", "__add__", "__all__", "__and__", "__bool__", "__call__",
        "__contains__", "__debug__", "__doc__", "__enter__", "__eq__", "__exit__", "__file__",
        "__float__", "__floordiv__", "__ge__", "__getitem__", "__gt__", "__hash__", "__iadd__",
        "__init__", "__int__", "__iter__", "__le__", "__len__", "__lt__", "__main__",
        "__match_args__", "__mod__", "__mul__", "__name__", "__ne__", "__neg__", "__new__",
        "__next__", "__or__", "__pos__", "__post_init__", "__pow__", "__qualname__",
        "__radd__", "__repr__", "__rmul__", "__round__", "__setitem__", "__slots__",
        "__str__", "__sub__", "__truediv__", "__version__", "__xor__",
        # Class-creation and container hooks a script's own classes define and chain to
        # with `super()`: each returns the class or plain values, never an interpreter object.
        "__class_getitem__", "__delitem__", "__index__", "__init_subclass__", "__invert__",
        "__matmul__", "__missing__", "__reversed__", "__rfloordiv__", "__rmatmul__",
        "__rsub__", "__rtruediv__", "__set_name__",
    }
)

# `x.__class__` is the first step of the classic escape walk, but `x.__class__.__name__`
# (and `__qualname__`) is only a string: read that way, `__class__` is allowed.
CLASS_NAME_ATTRS: Final = frozenset({"__name__", "__qualname__"})

DUNDER_RE: Final = re.compile(r"__[A-Za-z0-9_]+?__")
FRAME_ATTR_RE: Final = re.compile(r"\b(" + "|".join(sorted(FRAME_ATTRS)) + r")\b")


def nfkc(name: str) -> str:
    """Normalise an identifier the way the Python parser does (fullwidth `exec` is `exec`)."""
    return name if name.isascii() else unicodedata.normalize("NFKC", name)


def is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def is_escape_dunder(name: str) -> bool:
    return is_dunder(name) and name not in SAFE_DUNDERS


def root_module(dotted: str) -> str:
    return dotted.split(".", 1)[0]


def restricted_use(dotted: str) -> str | None:
    """`sys.settrace`: a name under a restricted module that is not one of its few values
    (`sys.stderr.buffer`: on a stream, a member off its text surface)."""
    parts = dotted.split(".")
    allowed = RESTRICTED_MODULES.get(parts[0])
    if allowed is None or len(parts) < 2:
        return None
    if parts[1] not in allowed:
        return ".".join(parts[:2])
    if parts[1] in _STREAMS and len(parts) > 2 and parts[2] not in STREAM_SURFACE:
        return ".".join(parts[:3])  # `sys.stderr.buffer`
    return None


def denied_api(dotted: str) -> str | None:
    """The denied API that `dotted` is or lies under, if any."""
    parts = dotted.split(".")
    for i in range(2, len(parts) + 1):
        prefix = ".".join(parts[:i])
        if prefix in DENIED_APIS:
            return prefix
    return None


def smuggled_module(dotted: str) -> str | None:
    """A denied module reached through an allowed one, e.g. `random._os` or `torch.os`.
    (`sys.platform` is a string that a restricted module's allowlist names, not a module.)"""
    parts = dotted.split(".")
    skip = 2 if len(parts) > 1 and parts[1] in RESTRICTED_MODULES.get(parts[0], ()) else 1
    for part in parts[skip:]:
        bare = part.lstrip("_")
        if bare in DENIED_MODULES or bare in FILE_MODULES:
            return part
    return None


def private_member(dotted: str) -> str | None:
    for part in dotted.split(".")[1:]:
        if part.startswith("_") and not is_dunder(part):
            return part
    return None
