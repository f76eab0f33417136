"""Each policy rule, through aliases, NFKC lookalikes and string building."""

from __future__ import annotations

from pathlib import Path

import pytest

from validator.policy.engine import run_policy
from validator.policy.rules import RULES

ENTRY = "\n\ndef evaluate_model(model):\n    return {}\n"


def _rules(source: str) -> set[str]:
    return {f.rule for f in run_policy(source + ENTRY)}


CAUGHT = [
    # imports: allowlist, denylist, star, denied APIs, smuggled modules, private members
    ("import scipy", "EP101"),
    ("from . import helpers", "EP101"),
    ("import os as o\no.system('id')", "EP102"),
    ("from os import system as s\ns('id')", "EP102"),
    ("import importlib.util", "EP102"),
    ("from math import *", "EP103"),
    ("import torch\ntorch.hub.load('a', 'b')", "EP104"),
    ("import torch as t\nt.utils.cpp_extension.load('x', [])", "EP104"),
    ("import torch\ntorch.ops.load_library('x.so')", "EP104"),
    ("import torch\nt = torch\nt.hub.list('a')", "EP104"),
    ("from torch import hub", "EP104"),
    ("import torch.distributed", "EP104"),
    ("import random\nrandom._os.system('id')", "EP104"),
    ("import collections\ncollections._sys.modules", "EP104"),
    ("import torch\ntorch.os.system('id')", "EP104"),
    ("import json\njson.codecs.open('/etc/passwd')", "EP104"),
    ("import warnings\nwarnings.linecache.getlines('/etc/passwd')", "EP104"),
    ("import torch\ngetattr(torch, 'hub')", "EP104"),
    ("import numpy as np\nnp.zeros(1).ctypes._ctypes.CDLL(None)", "EP104"),
    ("getattr(obj, '_os')", "EP202"),
    ("import torch\nf = torch.compile(model.model)", "EP104"),
    ("import torch\ntorch.UntypedStorage.from_file('x', False, 1)", "EP401"),
    ("import torch\ntorch._C._get_tracing_state()", "EP105"),
    ("from torch import _C", "EP105"),
    ("import torch\nclass A:\n    def __init__(self):\n        self.t = torch", "EP106"),
    ("import torch\ndef f(m):\n    return m.hub\nf(torch)", "EP106"),
    ("import numpy as np\nmods = [np]", "EP106"),
    # dynamic code, reflection, namespaces, frames, interactive builtins, type()
    ("eval('1')", "EP201"),
    ("x = eval\nx('1')", "EP201"),
    ("runner = lambda s: exec(s)", "EP201"),
    ("@exec\ndef f(): pass", "EP201"),
    ("class K:\n    go = compile", "EP201"),
    ("(e := eval)", "EP201"),
    ("__import__('os')", "EP201"),
    ("def f(x: \"exec('import os')\"): pass", "EP201"),
    ("def f() -> '__import__(\"os\")': pass", "EP201"),
    ("import typing\ntyping.get_type_hints(f)", "EP201"),
    ("from typing import ForwardRef\nForwardRef('x')", "EP201"),
    ("f.__annotations__ = {'x': 'y'}", "EP301"),
    ("tmpl = build()\ntmpl.format(model)", "EP202"),
    ("('{0.' + name + '}').format(f)", "EP202"),
    ("import string\nstring.Formatter().vformat(s, [f], {})", "EP202"),
    ("getattr(model, name)", "EP202"),
    ("getattr(model, '__cl' + 'ass__')", "EP202"),
    ("getattr(model, *args)", "EP202"),
    ("setattr(model, key, 1)", "EP202"),
    ("g = getattr", "EP202"),
    ("import operator\noperator.attrgetter('__globals__')", "EP202"),
    ("import operator\noperator.attrgetter(name)", "EP202"),
    ("import operator as op\nop.methodcaller(name)", "EP202"),
    ("import functools\nfunctools.partial(getattr, model)", "EP202"),
    ("globals()", "EP203"),
    ("locals()['x']", "EP203"),
    ("vars(model)", "EP203"),
    ("frame.f_back.f_globals", "EP204"),
    ("e.__traceback__.tb_frame", "EP204"),
    ("g.gi_frame", "EP204"),
    ("c.cr_frame", "EP204"),
    ("breakpoint()", "EP205"),
    ("help(model)", "EP205"),
    ("input()", "EP205"),
    ("license()", "EP205"),
    ("T = type('T', (), {})", "EP206"),
    # dunders as attributes, names and strings
    ("().__class__.__mro__[-1].__subclasses__()", "EP301"),
    ("b = __builtins__", "EP301"),
    ("l = __loader__", "EP301"),
    ("f.__globals__", "EP301"),
    ("model.__dict__", "EP301"),
    ("f'{model.__class__}'", "EP301"),
    ("'{0.__globals__}'.format(f)", "EP302"),
    ("('{0.__glo' 'bals__}').format(f)", "EP302"),
    ("'{0.f_globals}'.format(frame)", "EP302"),
    ("name = ''.join(['__', 'subclasses', '__'])", "EP302"),
    ("name = chr(95) * 2 + 'code' + chr(95) * 2", "EP302"),
    # file I/O, deserialisation, downloads, remote code
    ("open('/etc/passwd')", "EP401"),
    ("reader = open\nreader('x')", "EP401"),
    ("import numpy as np\nnp.save('x.npy', [1])", "EP401"),
    ("import torch\ntorch.save({}, 'x.pt')", "EP401"),
    ("p.read_text()", "EP401"),
    ("model.model.save_pretrained('out')", "EP401"),
    ("import pickle\npickle.loads(b'')", "EP501"),
    ("import torch\ntorch.load('x.pt')", "EP501"),
    ("import torch\ntorch.load('x.pt', weights_only=False)", "EP501"),
    ("from torch import load as L\nL('x.pt')", "EP501"),
    ("import torch\nloader = torch.load", "EP501"),
    ("import numpy\nnumpy.load('x.npy', allow_pickle=True)", "EP501"),
    ("import transformers\ntransformers.AutoModel.from_pretrained('gpt2')", "EP502"),
    ("from transformers import pipeline\npipeline('text-generation')", "EP502"),
    ("model.model.push_to_hub('me/model')", "EP502"),
    ("f(trust_remote_code=True)", "EP503"),
    ("f(trust_remote_code=flag)", "EP503"),
    ("f(**{'trust_remote_code': True})", "EP503"),
    # encoded payloads
    ("import base64\nbase64.b64decode(s)", "EP601"),
    ("import codecs\ncodecs.decode(s, 'rot13')", "EP601"),
    ("bytes.fromhex(s)", "EP601"),
    ("s = 'aW1wb3J0IG9zOyBvcy5zeXN0ZW0oImlkIik='", "EP602"),
    ("s = '696d706f7274206f733b206f732e73797374656d282769642729'", "EP602"),
    ("s = 'vzcbeg bf; bf.flfgrz(\"vq\")'", "EP602"),
    ("s = '" + "QUJD" * 80 + "'", "EP603"),
    # class patterns read attributes: keyword attributes and `__match_args__` names
    ("match print:\n    case object(__self__=b):\n        pass", "EP301"),
    ("match e:\n    case object(__traceback__=object(tb_frame=f)):\n        pass", "EP204"),
    ("match x:\n    case C(f_back=f):\n        pass", "EP204"),
    ("match a:\n    case object(ctypes=c):\n        pass", "EP104"),
    ("class P:\n    __match_args__ = ('__class__',)", "EP301"),
    ("class P:\n    __match_args__ = ('gi_frame', 'x')", "EP204"),
    ("class P:\n    __match_args__ = tuple(names)", "EP202"),
    ("class P:\n    __match_args__ += ('x',)", "EP202"),
    ("P.__match_args__ = names", "EP202"),
    ("setattr(P, '__match_args__', names)", "EP202"),
    # format methods taken as values, or fetched by name; templates built at run time
    ("fmt = str.format\nfmt('{0.' + name + '}', obj)", "EP202"),
    ("str.format('{0.' + name + '}', obj)", "EP202"),
    ("str.format_map(*parts)", "EP202"),
    ("import functools\nfunctools.partial(str.format, t)", "EP202"),
    ("render = template.format_map", "EP202"),
    ("f = getattr(template, 'format')", "EP202"),
    ("import operator\noperator.methodcaller('format', obj)(template)", "EP202"),
    ("T = {'a': 'Q: {q}'}\nT['b'] = '{0.' + n + '}'\nT[k].format(o)", "EP202"),
    ("class A:\n    def __init__(self, n):\n        self.t = '{0.' + n + '}'\n"
     "    def r(self, o):\n        return self.t.format(o)", "EP202"),
    # allowlist of allowed packages: unlisted modules and names are refused
    ("import torch\ntorch.utils.collect_env.run('id')", "EP107"),
    ("from torch.utils.collect_env import run", "EP107"),
    ("import torch.utils.benchmark as b\nb.Timer(stmt='x').timeit(1)", "EP107"),
    ("from torch.utils import benchmark", "EP107"),
    ("import dataclasses\ndataclasses.make_dataclass('A', ['x'])", "EP107"),
    ("from dataclasses import make_dataclass", "EP107"),
    ("import warnings\nwarnings.warn_explicit('m', UserWarning, '/etc/passwd', 1)", "EP107"),
    ("import warnings\nwarnings.formatwarning('m', UserWarning, '/etc/passwd', 1)", "EP107"),
    ("import torch\ntorch.serialization.add_safe_globals([x])", "EP107"),
    ("from torch.serialization import add_safe_globals", "EP107"),
    ("import torch.nn.functional as F\nF.torch.hub.load('a', 'b')", "EP107"),
    ("import numpy as np\nnp.not_a_numpy_name", "EP107"),
    ("import transformers\ntransformers.Trainer", "EP107"),
    ("import contextlib\ncontextlib.chdir('/')", "EP107"),
    ("import typing\ntyping.get_annotations", "EP107"),
    ("import torch\ntorch.jit.script(f)", "EP107"),
    ("import torch\ntorch.library.Library('x', 'DEF')", "EP107"),
    ("import numpy as np\nnp.lib.format.read_array(f)", "EP107"),
    ("getattr(cfg, field.name)", "EP202"),
    ("import warnings\nwarnings.catch_warnings()._module.sys.modules", "EP104"),
    ("import dataclasses\nfor f in dataclasses.fields(c):\n    f.name = n\n    getattr(c, f.name)",
     "EP202"),
    # NFKC: fullwidth letters are the same identifiers to Python
    ("ｅｖａｌ('1')", "EP201"),  # noqa: RUF001
    ("x = model.__ｃｌａｓｓ__", "EP301"),  # noqa: RUF001
    ("import ｏｓ", "EP102"),  # noqa: RUF001
]


@pytest.mark.parametrize(
    ("snippet", "rule"), CAUGHT, ids=[f"{rule}-{i}" for i, (_, rule) in enumerate(CAUGHT)]
)
def test_rule_catches(snippet: str, rule: str) -> None:
    assert rule in _rules(snippet)


ALLOWED = [
    "import torch\nimport torch.nn.functional as F\nx = F.softmax(torch.zeros(2), dim=0)",
    "import numpy as np\nnp.mean([1, 2])",
    "from transformers import AutoTokenizer",
    "import numpy as np\nnp.asarray([1])",
    "getattr(model, 'device', 'cpu')",
    "hasattr(model, 'generate')",
    "import operator\noperator.itemgetter(1)",
    "import operator\noperator.attrgetter('score')",
    "input_ids = [1]\nprint(input_ids)",
    "input = 'text'\nprint(input)",
    "def compile(x):\n    return x\ncompile(1)",
    "class A:\n    def __init__(self):\n        super().__init__()\n"
    "    def __repr__(self):\n        return type(self).__name__",
    "if __name__ == '__main__':\n    pass",
    "t = type(model)",
    "s = 'The quick brown fox jumps over the lazy dog again and again'",
    "h = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'",
    "from __future__ import annotations",
    "import time\ntime.sleep(0.01)",
    "import transformers\ntransformers.logging.set_verbosity_error()",
    "x = {'a': 1}\nx.get('a')",
    "PROMPT = 'Q: {question}\\nA:'\nPROMPT.format(question='x')",
    "def f():\n    tmpl = '{0} and {1}'\n    return tmpl.format(1, 2)",
    "'{name}: {value:.3f}'.format_map({'name': 'a', 'value': 1.0})",
    "from typing import Literal\nclass A:\n    kind: 'Literal[\"two words\"]'",
    "class Node:\n    def add(self, other: 'Node') -> 'list[Node] | None':\n        return None",
    # the false positives
    "TEMPLATES = {'qa': 'Q: {q}', 'mc': 'Pick: {q}'}\n"
    "def render(kind, q):\n    return TEMPLATES[kind].format(q=q)",
    "SHOTS = ['A: {a}', 'B: {b}']\nSHOTS[0].format(a=1)",
    "str.format('{0} {1}', 1, 2)",
    "T = {'a': 'Q: {q}'}\ndef f(kind):\n    template = T[kind]\n    return template.format(q=1)",
    "def f():\n    '''Reads __dict__ through __getattr__, like tb_frame does.'''\n"
    "    return 'The prompt mentions __dict__ and __getattr__.'",
    "import dataclasses\ndef g(cfg):\n    out = {}\n    for field in dataclasses.fields(cfg):\n"
    "        out[field.name] = getattr(cfg, field.name)\n    return out",
    "from dataclasses import fields\ndef g(c):\n"
    "    return {f.name: getattr(c, f.name) for f in fields(c)}",
    "import hashlib\nkey = hashlib.md5(b'prompt').hexdigest()",
    # class patterns on ordinary attributes, and the allowlisted surface of packages
    "from dataclasses import dataclass\n@dataclass\nclass P:\n    x: int\n    y: int\n"
    "def f(p):\n    match p:\n        case P(x, y=0):\n            return x\n"
    "        case {'a': a}:\n            return a",
    "class P:\n    __match_args__ = ('x', 'y')",
    "import torch\nfrom torch.utils.data import DataLoader, TensorDataset\nx = torch.zeros(3)\n"
    "with torch.no_grad():\n    y = torch.nn.functional.log_softmax(x, dim=-1)\n"
    "torch.manual_seed(0)\nprint(torch.float16, torch.__version__, torch.cuda.is_available())",
    "import torch.nn as nn\nlayer = nn.Linear(2, 2)\nnn.init.zeros_(layer.bias)",
    "from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig, "
    "StoppingCriteria",
    "import numpy as np\nrng = np.random.default_rng(0)\nnp.linalg.norm(rng.normal(size=3))",
    "import warnings\nwarnings.filterwarnings('ignore')\nwarnings.warn('careful')",
    "import dataclasses\n@dataclasses.dataclass(frozen=True)\nclass C:\n    x: int = 1\n"
    "dataclasses.asdict(C())",
]


@pytest.mark.parametrize("snippet", ALLOWED)
def test_allowed_code_has_no_findings(snippet: str) -> None:
    assert _rules(snippet) == set(), run_policy(snippet + ENTRY)


WARNED = [
    # Where the runtime guard covers the risk, idiomatic code is warned about, not refused.
    ("class T:\n    def __init__(self, template):\n        self.template = template\n"
     "    def render(self, **kw):\n        return self.template.format(**kw)", "EP207"),
    ("def render(template, q):\n    return template.format(q=q)", "EP207"),
    ("from dataclasses import dataclass\n@dataclass\nclass Cfg:\n    os: str = 'linux'\n"
     "def g(cfg):\n    return cfg.os", "EP108"),
]


@pytest.mark.parametrize(("snippet", "rule"), WARNED)
def test_guarded_idioms_are_warnings(snippet: str, rule: str) -> None:
    findings = run_policy(snippet + ENTRY)
    assert {(f.rule, f.severity) for f in findings} == {(rule, "warning")}


def test_torch_load_with_weights_only_is_not_unsafe_deserialisation() -> None:
    # Still file I/O, and `torch.load` is not on torch's allowlist, but it unpickles nothing.
    assert _rules("import torch\ntorch.load('x.pt', weights_only=True)") == {"EP107", "EP401"}


def test_positions_are_one_based() -> None:
    [finding] = run_policy("x = 1\ny = eval('2')" + ENTRY)
    assert (finding.rule, finding.line, finding.column) == ("EP201", 2, 5)


def test_findings_carry_rule_metadata() -> None:
    [finding] = run_policy("globals()" + ENTRY)
    assert finding.hint == RULES["EP203"].hint
    assert finding.severity == "error"


@pytest.mark.parametrize(
    ("source", "rule"),
    [
        ("def helper(model):\n    return {}\n", "EP010"),
        ("async def evaluate_model(model):\n    return {}\n", "EP011"),
        ("def evaluate_model(a, b, c):\n    return {}\n", "EP011"),
        ("evaluate_model = lambda model: {}\n", "EP011"),
        ("if True:\n    def evaluate_model(model):\n        return {}\n", "EP010"),
    ],
)
def test_entrypoint_rules(source: str, rule: str) -> None:
    assert rule in {f.rule for f in run_policy(source)}


def test_rule_ids_are_well_formed() -> None:
    for rule_id, rule in RULES.items():
        assert rule_id == rule.id
        assert rule_id.startswith("EP") and len(rule_id) == 5
        assert rule.message and rule.hint


def test_every_rule_is_documented() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "validation.md"
    text = docs.read_text(encoding="utf-8")
    for rule_id, rule in RULES.items():
        assert f"| {rule_id} | {rule.name} | {rule.severity} |" in text
