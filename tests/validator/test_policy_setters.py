"""Attribute names as mapping keys (`model.config.update({name: C})`) and the copy/pickle
reduce protocol (`__reduce_ex__` returning `(eval, ...)`): each class both ways."""

from __future__ import annotations

import pytest

from validator.policy.engine import run_policy

ENTRY = "\n\ndef evaluate_model(model):\n    return {}\n"
BUILT = "name = ''.join(chr(c) for c in (95, 95, 99, 108, 97, 115, 115, 95, 95))\n"


def _rules(source: str) -> set[str]:
    return {f.rule for f in run_policy(source + ENTRY)}


SETTERS_REFUSED = [
    # the review's example, and the same sink through every route to it
    BUILT + "model.config.update({name: C})",
    BUILT + "model.generation_config.update(**{name: C})",
    BUILT + "m = {}\nm[name] = C\nmodel.config.update(m)",
    BUILT + "m = {'a': 1}\nm.update({name: C})\nmodel.config.update(m)",
    BUILT + "model.config.update(dict([(name, C)]))",
    BUILT + "model.config.update({'a': 1} | {name: C})",
    BUILT + "model.config.update(*[{name: C}])",
    "def f(m):\n    model.config.update(m)",
    "for pair in pairs:\n    model.config.update(pair)",
    BUILT + "up = model.config.update\nup({name: C})",
    BUILT + "import functools\nfunctools.partial(model.config.update)({name: C})",
    BUILT + "getattr(model.config, 'update')({name: C})",
    BUILT + "import operator\noperator.methodcaller('update', {name: C})(model.config)",
    BUILT + "import operator\noperator.attrgetter('config.update')(model)({name: C})",
    BUILT + "import transformers\ntransformers.PretrainedConfig.from_dict({name: C})",
    BUILT + "holder = {'c': model.config}\nholder['c'].update({name: C})",
    BUILT + "holder = [model.config]\nholder[0].update({name: C})",
    BUILT + "def tweak(c, **kw):\n    c.update(kw)\ntweak(model.config, **{name: C})",
    BUILT + "def tweak(c, **kw):\n    c.update(**kw)\ntweak(model.config, **{name: C})",
    "model.config.update({'__class__': C})",
    "model.generation_config.update(__class__=C)",
    "model.config.update({'f_globals': 1})",
]


@pytest.mark.parametrize("source", SETTERS_REFUSED)
def test_mapping_setter_with_unseen_keys_is_refused(source: str) -> None:
    assert "EP202" in _rules(source)


SETTERS_ALLOWED = [
    "model.config.update({'temperature': 0.1})",
    "model.generation_config.update(max_new_tokens=8, do_sample=False)",
    "OVERRIDES = {'top_k': 5}\nmodel.generation_config.update(**OVERRIDES)",
    "OVERRIDES = {'top_k': 5}\nmodel.config.update(OVERRIDES)",
    "def tweak(c, **kw):\n    c.update(kw)\ntweak(model.config, top_k=5)",
    "d = {}\nfor k in keys:\n    d.update({k: 1})",
    "d = dict()\nd.update(other)",
    "from collections import Counter\nc = Counter()\nc.update(words)",
    "s = set()\ns.update(items)",
    "from collections import defaultdict\nd = defaultdict(dict)\nd[k].update({k: 1})",
    "r = {'a': {}}\nr['a'].update(other)",
    "import hashlib\nh = hashlib.sha256()\nh.update(data)",
    "from tqdm import tqdm\nbar = tqdm(total=3)\nbar.update(step)",
    "with tqdm(total=3) as bar:\n    bar.update(1)\n    bar.update(len(batch))",
    "class A:\n    def __init__(self):\n        self.seen = set()\n"
    "    def add(self, x):\n        self.seen.update(x)",
    "dict.update(d, other)",
]


@pytest.mark.parametrize("source", SETTERS_ALLOWED)
def test_mapping_setter_with_literal_keys_or_plain_container_passes(source: str) -> None:
    assert not _rules(source) & {"EP202", "EP301"}


REDUCE_REFUSED = [
    ("class P:\n    def __reduce_ex__(self, p):\n        return (self.fn, ('6 * 7',))", "EP301"),
    ("import functools\nclass P:\n    def __reduce__(self):\n"
     "        return (functools.partial, (print,))", "EP301"),
    ("class P:\n    def __reduce__(self):\n        return make()", "EP301"),
    ("class P:\n    def __reduce__(self):\n        t = (P, ())\n        return t", "EP301"),
    ("class P:\n    def __reduce__(self):\n        return (*parts,)", "EP301"),
    ("def build():\n    pass\nbuild = model.generate\nclass P:\n    def __reduce__(self):\n"
     "        return (build, ())", "EP301"),
    ("import copy\nclass P:\n    def __reduce__(self):\n        return (copy.copy, (self.x,))",
     "EP301"),
    ("class P:\n    def __reduce__(self):\n        return (P, (), {self.k: 1})", "EP202"),
    ("class P:\n    def __reduce__(self):\n        return (P, (), (None, {'a': 1}))", "EP202"),
    ("class P:\n    def __reduce__(self):\n        return (P, (), None, iter([1]))", "EP301"),
    ("class P:\n    def __reduce__(self):\n        return (P, (), None, None, iter({}.items()))",
     "EP301"),
    ("class P:\n    def __getstate__(self):\n        return (None, {self.k: 1})", "EP202"),
    ("class P:\n    def __getstate__(self):\n        return self.state", "EP202"),
    ("class P:\n    def __getstate__(self):\n        return ({}, self.slots)", "EP202"),
]


@pytest.mark.parametrize(("source", "rule_id"), REDUCE_REFUSED)
def test_reduce_protocol_handing_out_foreign_callables_or_names_is_refused(
    source: str, rule_id: str
) -> None:
    assert rule_id in _rules(source)


REDUCE_ALLOWED = [
    "class P:\n    def __reduce__(self):\n        return (P, (self.x,))",
    "class P:\n    def __reduce_ex__(self, protocol):\n        return (type(self), (1,), None)",
    "class P:\n    def __reduce__(self):\n        return (P, (), {'x': 1}, None, None)",
    "def make(x):\n    return P()\n"
    "class P:\n    def __reduce__(self):\n        return (make, (1,))",
    "class P:\n    def __getstate__(self):\n        return {'x': self.x}",
    "class P:\n    def __getstate__(self):\n        return dict(x=1)",
    "class P:\n    def __getstate__(self):\n        state = {'x': 1}\n        return state",
    "class P:\n    def __getstate__(self):\n        return ({'x': 1}, None)",
    "class P:\n    def __setstate__(self, state):\n        self.x = state['x']",
    "import copy\nclass P:\n    def __deepcopy__(self, memo):\n        return P()",
    "class P:\n    def __copy__(self):\n        return P()",
]


@pytest.mark.parametrize("source", REDUCE_ALLOWED)
def test_reduce_protocol_on_the_scripts_own_classes_passes(source: str) -> None:
    assert not _rules(source) & {"EP202", "EP301"}


# A script's own metric accumulator (torchmetrics-style `update`): its own `def update`
# runs script code, which the analysis checks; it is no library mapping setter.
ACC = (
    "class Acc:\n    def __init__(self):\n        self.n = 0\n"
    "    def update(self, preds, labels=None):\n        self.n += len(preds)\n"
)
OWN_UPDATE_ALLOWED = [
    # the review's examples (fp2/g03, h01, h03)
    ACC + "acc = Acc()\npreds, labels = [1, 0], [1, 1]\nacc.update(preds, labels)",
    "import torch\n" + ACC + "m = Acc()\nm.update(torch.tensor([1.0, 2.0]))",
    ACC + "s = Acc()\nfor batch in [['a', 'b'], ['c']]:\n    s.update(batch)",
    # the same receiver by every route the analysis follows
    ACC + "Acc().update(batch)",
    ACC + "metrics = [Acc(), Acc()]\nfor m in metrics:\n    m.update(batch)",
    ACC + "for m in [Acc() for _ in range(2)]:\n    m.update(batch)",
    ACC + "def step(acc: Acc, batch):\n    acc.update(batch)\nstep(Acc(), batch)",
    ACC + "class Runner:\n    def __init__(self):\n        self.acc = Acc()\n"
    "    def step(self, b):\n        self.acc.update(b)",
    ACC + "class Sub(Acc):\n    pass\nSub().update(batch)",
    "import dataclasses\n@dataclasses.dataclass\nclass Acc:\n    n: int = 0\n"
    "    def update(self, batch):\n        self.n += len(batch)\nAcc().update(batch)",
    "class Acc:\n    def update(self, b):\n        self.n = len(b)\n"
    "    def add(self, b):\n        self.update(b)\nAcc().add(batch)",
    # its own `def update` on a plain library base (an nn.Module metric, a dict subclass)
    "import torch\nfrom torch import nn\nclass Acc(nn.Module):\n"
    "    def update(self, preds, target):\n        self.n = (preds == target).sum()\n"
    "acc = Acc()\nacc.update(preds, target)",
    "import torch\nclass Acc(torch.nn.Module):\n    def update(self, m):\n        pass\n"
    "    def step(self, m):\n        self.update(m)\nclass Sub(Acc):\n    pass\n"
    "Sub().update(batch)\nAcc().step(batch)",
    "import collections\nclass Tally(collections.Counter):\n"
    "    def update(self, preds, target):\n        self[len(preds)] += 1\n"
    "Tally().update(preds, target)",
    "class Tally(dict):\n    def update(self, preds, target):\n        self['n'] = 1\n"
    "t = Tally()\nt.update(preds, target)",
    "import abc, typing\nT = typing.TypeVar('T')\n"
    "class Base(abc.ABC, typing.Generic[T]):\n    @abc.abstractmethod\n"
    "    def compute(self): ...\nclass Acc(Base):\n    def update(self, m):\n"
    "        pass\n    def compute(self):\n        return 0\nAcc().update(m)",
    # arguments no library setter takes as attribute names
    "import torch\nmetric.update(torch.tensor([1, 2]))",
    "metric.update([0.5, 1.0])",
    "metric.update(preds, labels, weights)",
]


@pytest.mark.parametrize("source", OWN_UPDATE_ALLOWED)
def test_script_class_own_update_or_non_mapping_arguments_pass(source: str) -> None:
    assert "EP202" not in _rules(source)


OWN_UPDATE_REFUSED = [
    # the instance's method shadowed by a library setter
    BUILT + ACC + "a = Acc()\na.update = model.config.update\na.update({name: C})",
    BUILT + ACC + "a = Acc()\nsetattr(a, 'update', model.config.update)\na.update({name: C})",
    BUILT + ACC + "Acc.update = type(model.config).update\nAcc().update({name: C})",
    # not always an instance of the class
    BUILT + ACC + "a = Acc()\nif flag:\n    a = model.config\na.update({name: C})",
    BUILT + ACC + "def step(acc: Acc):\n    acc.update({name: C})\nstep(model.config)",
    BUILT + ACC + "items = [Acc()]\nitems.append(model.config)\nfor a in items:\n"
    "    a.update({name: C})",
    # classes whose lookup or construction a library or hook decides
    BUILT + "import transformers\nclass Acc(transformers.PretrainedConfig):\n"
    "    def update(self, m):\n        pass\nAcc().update({name: C})",
    BUILT + "import torch\nclass Acc(torch.nn.Linear):\n    def update(self, m):\n"
    "        pass\nAcc(1, 1).update({name: C})",
    # a plain library base first in the MRO when the class has no `def update` of its own
    BUILT + "class A:\n    def update(self, m):\n        pass\nclass B(dict, A):\n    pass\n"
    "B().update({name: C})",
    # a base the analysis cannot pin to one library class
    BUILT + "import torch, transformers\n"
    "Base = torch.nn.Module if flag else transformers.PretrainedConfig\n"
    "class Acc(Base):\n    def update(self, m):\n        pass\nAcc().update({name: C})",
    BUILT + "def make(lib):\n    Base = object if flag else lib\n    class Acc(Base):\n"
    "        def update(self, m):\n            pass\n    Acc().update({name: C})",
    BUILT + "class Acc:\n    def __new__(cls):\n        return model.config\n"
    "    def update(self, m):\n        pass\nAcc().update({name: C})",
    BUILT + "class Acc:\n    update = None\nAcc().update({name: C})",
    BUILT + "class Acc:\n    @staticmethod\n    def update(m):\n        pass\n"
    "Acc().update({name: C})",
    BUILT + "class Meta(type):\n    pass\nclass Acc(metaclass=Meta):\n"
    "    def update(self, m):\n        pass\nAcc().update({name: C})",
    # `self` handed another object: the class's method called unbound
    BUILT + "class Acc:\n    def update(self, m):\n        pass\n"
    "    def go(self, m):\n        self.update(m)\nAcc.go(model.config, {name: C})",
    BUILT + "class Acc:\n    def update(self, m):\n        pass\n"
    "    def go(self, m):\n        self.update(m)\ntype(Acc()).go(model.config, {name: C})",
    BUILT + "class Acc:\n    def update(self, m):\n        pass\n"
    "    def go(self, m):\n        self.update(m)\nclass B(Acc):\n    update = None\n"
    "B().go({name: C})",
    # two positional arguments: on a class, the second is the mapping
    BUILT + "type(model.config).update(model.config, {name: C})",
    BUILT + "import transformers\ntransformers.PretrainedConfig.update(model.config, {name: C})",
    # items that may be (key, value) pairs
    BUILT + "model.config.update([(name, C)])",
    "model.config.update(['ab'])",
]


@pytest.mark.parametrize("source", OWN_UPDATE_REFUSED)
def test_update_on_receivers_not_surely_script_instances_is_refused(source: str) -> None:
    # at the call itself (not only where a library `.update` is taken as a value)
    assert any(
        f.rule == "EP202" and f.message.startswith("`.update` with")
        for f in run_policy(source + ENTRY)
    )


# A script metric on a plain library base with its own `update` opens no other receiver.
NN_ACC = ("import torch, json\nclass Acc(torch.nn.Module):\n    def update(self, m):\n"
          "        pass\nAcc().update({name: C})\n")
SHARED_UPDATES_REFUSED = {
    "globals": (NN_ACC + "globals().update({name: C})", "EP203"),
    "vars": (NN_ACC + "vars(model.config).update({name: C})", "EP203"),
    "module_dict": (NN_ACC + "json.__dict__.update({name: C})", "EP301"),
    "config": (NN_ACC + "model.config.update({name: C})", "EP202"),
    "same_name_other_object": (NN_ACC + "acc = Acc()\nacc = model.config\nacc.update({name: C})",
                               "EP202"),
}


@pytest.mark.parametrize("case", sorted(SHARED_UPDATES_REFUSED))
def test_own_update_on_a_library_base_opens_no_other_receiver(case: str) -> None:
    source, rule = SHARED_UPDATES_REFUSED[case]
    assert rule in _rules(BUILT + source)
