"""Attack 2's static classes: the class of an object the script did not make (EP208), the
binary layers of the standard streams (EP104), and changes to shared modules (EP109).
Each class has the reported example as a case, and the ordinary code next to it stays
accepted."""

from __future__ import annotations

import pytest

from validator.findings import blocking
from validator.policy.engine import run_policy

ENTRY = "\n\ndef evaluate_model(model):\n    return {}\n"
X4 = '''import json, sys
KEEP = []
def evaluate_model(model):
    b = sys.stderr.buffer
    FileIO = type(getattr(b, "raw", b))
    sys.stderr.flush(); FileIO(2, "wb").close()
    KEEP.append(FileIO("/dev/" + "null", "wb"))
    def finish(*a, **k): raise SystemExit(0)
    json.dumps = finish
    return {"accuracy": 0.1}
'''


def _blocking(source: str) -> set[str]:
    return {f.rule for f in blocking(run_policy(source + ENTRY))}


def test_reported_example_is_refused_by_each_class() -> None:
    assert {"EP104", "EP208", "EP109"} <= {f.rule for f in blocking(run_policy(X4))}


REFUSED = {
    # a) the class of a library object, called, stored or reached past its name.
    "type_called": ("def f(x):\n    return type(x)('/job/spec.json', 'rb')", "EP208"),
    "type_stored": ("def f(x):\n    cls = type(x)\n    return cls", "EP208"),
    "type_stored_called": ("def f(x):\n    cls = type(x)\n    return cls(2, 'wb')", "EP208"),
    "type_stored_global": ("T = type(print)\ndef f(x):\n    return T(x)", "EP208"),
    # `raise type(e)(...)` is allowed only for the handler's own, never rebound, exception.
    "reraise_rebound": ("def f(x):\n    try:\n        return int(x)\n"
                        "    except ValueError as e:\n        e = x\n        raise type(e)('bad')",
                        "EP208"),
    "reraise_not_handler": ("def f(x, e):\n    raise type(e)('bad')", "EP208"),
    "reraise_kept": ("def f(x):\n    try:\n        return int(x)\n    except ValueError as e:"
                     "\n        y = type(e)('bad')\n        raise y", "EP208"),
    "type_stored_subclassed": ("def f(x):\n    t = type(x)\n    class S(t):\n        pass\n"
                               "    return S", "EP208"),
    "type_returned": ("def f(x):\n    return type(x)", "EP208"),
    "type_dunder_call": ("def f(x):\n    return type(x).__call__", "EP208"),
    "type_in_isinstance_tuple": ("def f(x, y):\n    return isinstance(y, (type(x), int))",
                                 "EP208"),
    "type_alias": ("t = type\ndef f(x):\n    return t(x)(2, 'wb')", "EP208"),
    "type_as_value": ("def f(xs):\n    return [c(2) for c in map(type, xs)]", "EP208"),
    "self_rebound": ("class C:\n    def m(self, x):\n        self = x\n"
                     "        return type(self)(2)", "EP208"),
    # type(cls) is the metaclass, `type` itself for a plain class: the way to any class.
    "type_of_cls": ("class C:\n    @classmethod\n    def make(cls, x):\n"
                    "        return type(cls)(x)", "EP208"),
    "reader_shadowed": ("import random\nif random.random() > 0.5:\n"
                        "    def print(c):\n        return c(2, 'wb')\n"
                        "def f(x):\n    return print(type(x))", "EP208"),
    "foreign_instance_name": ("def f(model):\n    t = model.tokenizer\n    return type(t)()",
                              "EP208"),
    # a) the standard streams beyond their text surface, in any spelling.
    "stream_buffer": ("import sys\nsys.stdout.buffer.write(b'x')", "EP104"),
    "stream_raw_alias": ("import sys\ne = sys.stderr\nr = e.buffer.raw", "EP104"),
    "stream_getattr": ("import sys\nb = getattr(sys.stderr, 'buffer')", "EP104"),
    "stream_fileno": ("import sys\nn = sys.stdout.fileno()", "EP104"),
    "stream_detach": ("import sys\nsys.stdout.detach()", "EP104"),
    "stream_reconfigure": ("import sys\nsys.stderr.reconfigure(line_buffering=True)", "EP104"),
    "stream_private": ("import sys\nsys.stderr._CHUNK_SIZE = 1", "EP104"),
    "stream_to_own_function": ("import sys\ndef g(s):\n    return s.buffer\nb = g(sys.stderr)",
                               "EP104"),
    "stream_own_keyword": ("import sys\ndef g(file=None):\n    return file\n"
                           "b = g(file=sys.stderr)", "EP104"),
    "stream_through_partial": ("import sys, functools\ndef g(s):\n    return s.buffer\n"
                               "b = functools.partial(g, sys.stderr)()", "EP104"),
    "stream_in_container": ("import sys\nstreams = [sys.stdout]", "EP104"),
    "stream_returned": ("import sys\ndef g():\n    return sys.stderr", "EP104"),
    # a stream as a parameter's default: each use of the parameter is judged as the stream
    "stream_default_raw": ("import sys\ndef g(s=sys.stderr):\n    return s.buffer.raw",
                           "EP104"),
    "stream_default_fileno": ("import sys\ndef g(*, s=sys.stdout):\n    return s.fileno()",
                              "EP104"),
    "stream_default_reinit": ("import sys\ndef g(o, s=sys.stderr):\n    s.__init__(o)",
                              "EP301"),
    "stream_default_tampered": ("import sys\ndef g(s=sys.stderr):\n    s.write = len",
                                "EP109"),
    "stream_default_returned": ("import sys\ndef g(s=sys.stderr):\n    return s", "EP104"),
    "stream_default_kept": ("import sys\nclass C:\n    def __init__(self, s=sys.stderr):\n"
                            "        self.s = s", "EP104"),
    "stream_default_forwarded": ("import sys\ndef h(s):\n    return s.buffer\n"
                                 "def g(s=sys.stderr):\n    return h(s)", "EP104"),
    "stream_default_in_closure": ("import sys\ndef g(s=sys.stderr):\n"
                                  "    return lambda: s.detach()", "EP104"),
    "stream_default_lambda": ("import sys\ng = lambda s=sys.stderr: print(1, file=s)",
                              "EP104"),
    "stream_to_parameter_without_default": ("import sys\ndef g(msg, s=None):\n"
                                            "    print(msg, file=s)\ng('x', sys.stdout)",
                                            "EP104"),
    "stream_to_decorated_default": ("import sys, functools\n@functools.lru_cache\n"
                                    "def g(msg, s=sys.stderr):\n    print(msg, file=s)\n"
                                    "g('x', s=sys.stdout)", "EP104"),
    "stream_to_rebound_default": ("import sys\ndef g(msg, s=sys.stderr):\n"
                                  "    print(msg, file=s)\ndef h(msg, s):\n"
                                  "    return s.buffer\nif len('a'):\n    g = h\n"
                                  "g('x', sys.stdout)", "EP104"),
    "stream_after_star": ("import sys\ndef g(msg, s=sys.stderr):\n    print(msg, file=s)\n"
                          "g(*['x'], sys.stdout)", "EP104"),
    "stream_to_method_default": ("import sys\nclass C:\n    def g(self, s=sys.stderr):\n"
                                 "        print(1, file=s)\nC().g(sys.stdout)", "EP104"),
    "stream_default_computed": ("import sys\ndef g(s=sys.stderr if 1 else sys.stdout):\n"
                                "    print(1, file=s)", "EP104"),
    # b) module attributes assigned, deleted, augmented, item-assigned or setattr'd.
    "json_dumps": ("import json\njson.dumps = print", "EP109"),
    "logging_root_handlers": ("import logging\nlogging.root.handlers = []", "EP109"),
    "logging_items": ("import logging\nlogging.root.handlers[:] = []", "EP109"),
    "logging_item_del": ("import logging\ndel logging.root.handlers[0]", "EP109"),
    "re_compile": ("import re\nre.compile = re.escape", "EP109"),
    "np_alias": ("import numpy as np\nnp.random.seed = print", "EP109"),
    "torch_functional": ("import torch\ntorch.nn.functional.softmax = print", "EP109"),
    "from_import_alias": ("from torch.nn import functional as F\nF.softmax = print", "EP109"),
    "from_import_function": ("from json import dumps\ndumps.cache = {}", "EP109"),
    "augassign": ("import math\nmath.pi += 1", "EP109"),
    "delete": ("import json\ndel json.loads", "EP109"),
    "setattr": ("import logging\nsetattr(logging.root, 'handlers', [])", "EP109"),
    "delattr": ("import logging\ndelattr(logging.root, 'handlers')", "EP109"),
    "object_setattr": ("import logging\nobject.__setattr__(logging.root, 'level', 0)",
                       "EP109"),
    "backend_flag_deleted": ("import torch\ndel torch.backends.cudnn.benchmark", "EP109"),
    "backend_flag_setattr": ("import torch\nsetattr(torch.backends.cudnn, 'benchmark', 1)",
                             "EP109"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused(case: str) -> None:
    source, rule = REFUSED[case]
    assert rule in _blocking(source)


ALLOWED = {
    # attack round 3 F3: ordinary re-raise with more context.
    "reraise_own_type": "def f(x):\n    try:\n        return int(x)\n    except ValueError as e:"
                        "\n        raise type(e)(f'bad: {e}') from e",
    "type_stored_only_read": "def f(x, y):\n    t = type(x)\n    u: type = type(y)\n"
                             "    return t is u or t.__name__ == 'int'",
    "type_compared": "def f(x, y):\n    return type(x) is type(y) or type(x) == int",
    "type_in_compare_tuple": "def f(x):\n    return type(x) in (int, float)",
    "type_named": "def f(x):\n    return type(x).__name__ + type(x).__qualname__",
    "type_formatted": "def f(x):\n    return f'{type(x)}: {type(x)!r}'",
    "type_printed": "def f(x):\n    print(type(x), repr(type(x)), str(type(x)))",
    "type_isinstance": "def f(x, y):\n    return isinstance(y, type(x)) and "
                       "issubclass(type(y), type(x))",
    "isinstance_type_value": "def f(c):\n    return isinstance(c, type)",
    "type_annotation": "def f(c: type[int]) -> type:\n    return int",
    "own_self": "class C:\n    def __init__(self, n=0):\n        self.n = n\n"
                "    def copy(self):\n        return type(self)(self.n)",
    "own_reduce": "class C:\n    def __reduce__(self):\n        return (type(self), ())",
    "own_instance": "class C:\n    pass\ndef f():\n    c = C()\n    return type(c)()",
    "literals": "def f():\n    empty = type([1, 2])()\n    return type('')(3), empty",
    "metaclass": "class Meta(type):\n    pass",
    # the standard streams' text surface
    "stream_text": "import sys\nsys.stderr.write('x')\nsys.stdout.flush()\n"
                   "print(sys.stdout.isatty(), sys.stdout.encoding, file=sys.stderr)",
    "stream_to_library": "import sys, logging, tqdm\nerr = sys.stderr\n"
                         "print('x', file=sys.stderr, flush=True)\nprint('y', file=err)\n"
                         "logging.basicConfig(stream=sys.stdout)\n"
                         "h = logging.StreamHandler(sys.stderr)\n"
                         "bar = tqdm.tqdm(range(3), file=sys.stdout)\n"
                         "same = sys.stdout is sys.stderr\n"
                         "import json, pprint\njson.dump({}, sys.stdout)\n"
                         "pprint.pprint({}, stream=sys.stderr)",
    "stream_parameter_default": "import sys, logging\n"
                                "def log(msg, stream=sys.stderr):\n"
                                "    print(msg, file=stream)\n    stream.flush()\n"
                                "def show(*, out=sys.stdout):\n    out.write('x')\n"
                                "    h = logging.StreamHandler(out)\n"
                                "    return out.isatty() or out is sys.stderr\n"
                                "class R:\n    def dump(self, stream=sys.stderr):\n"
                                "        print(self, file=stream)",
    "stream_to_parameter_default": "import sys\n"
                                   "def log(msg, stream=sys.stderr, *, err=sys.stderr):\n"
                                   "    print(msg, file=stream)\n    err.flush()\n"
                                   "log('a', sys.stdout)\nlog('b', stream=sys.stdout)\n"
                                   "log('c', err=sys.stdout)",
    # ordinary flag settings and attributes of the script's own objects
    "backend_flags": "import torch\ntorch.backends.cudnn.deterministic = True\n"
                     "torch.backends.cudnn.benchmark = False\n"
                     "torch.backends.cuda.matmul.allow_tf32 = True",
    "verbosity_call": "import transformers\ntransformers.logging.set_verbosity_error()",
    "own_objects": "import logging\nlogger = logging.getLogger('eval')\n"
                   "logger.propagate = False\n"
                   "def f(model, tok):\n    model.generation_config.pad_token_id = 0\n"
                   "    tok.padding_side = 'left'\n    f.calls = 1",
    "own_class_attr": "class C:\n    n = 0\nC.n += 1",
    "module_items_read": "import logging\nn = len(logging.root.handlers)",
}


@pytest.mark.parametrize("case", sorted(ALLOWED))
def test_allowed(case: str) -> None:
    assert _blocking(ALLOWED[case]) == set()


IN_PLACE_REFUSED = [
    "import logging\nlogging.root.handlers.clear()",
    "import logging\nh = logging.root.handlers\nh.append(None)",
    "import logging\nlogging.root.manager.loggerDict.pop('evalpod')",
    "import logging\nlist.clear(logging.root.handlers)",
    "import logging, operator\noperator.delitem(logging.root.handlers, 0)",
]
IN_PLACE_ALLOWED = [
    "import numpy as np\na = np.append(np.zeros(2), 1.0)\nb = np.insert(a, 0, 2.0)\n"
    "c = np.sort(b)",
    "import torch\nx = torch.add(torch.ones(2), 1)\ny = torch.sort(x)",
    "import collections\nc = collections.Counter()\ncollections.Counter.update(c, 'ab')\n"
    "c.update('cd')",
    "import logging\nlogging.getLogger('eval').handlers.clear()",  # the script's own logger
    "def f(xs):\n    xs.sort()\n    xs.append(1)\n    return dict.pop({'a': 1}, 'a')",
]


@pytest.mark.parametrize("source", IN_PLACE_REFUSED)
def test_module_object_changed_in_place_is_refused(source: str) -> None:
    assert "EP109" in _blocking(source)


@pytest.mark.parametrize("source", IN_PLACE_ALLOWED)
def test_module_functions_and_own_objects_are_allowed(source: str) -> None:
    assert "EP109" not in _blocking(source)
