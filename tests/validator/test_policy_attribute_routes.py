"""Every route that names an attribute by a string meets the rules that judge `x.attr` by
its spelling (EP401 file openers, EP502 downloads, ...); native file openers are refused by
name; `.update` on plain dicts and `**` calls that cannot reach a keyword sink are not
attribute setters."""

from __future__ import annotations

import pytest

from validator.policy.engine import run_policy

ENTRY = "\n\ndef evaluate_model(model):\n    return {}\n"
STORE = "import torch\nstore = torch.zeros(1, dtype=torch.uint8).untyped_storage()\n"


def _rules(source: str) -> set[str]:
    return {f.rule for f in run_policy(source + ENTRY) if f.severity == "error"}


# (route, the rule `x.<name>` written out meets)
ROUTES_REFUSED = [
    # the attacker's examples
    (STORE + "load = getattr(store, 'from_file')", "EP401"),
    (
        "import numpy as np\narr = np.zeros(4)\nname = 'tofile'\ngetattr(arr, name)('/out/r')",
        "EP401",
    ),
    ("name = 'from_pretrained'\ngetattr(model.tokenizer, name)('gpt2')", "EP502"),
    (STORE + "import operator\noperator.methodcaller('from_' + 'file', '/job/x')(store)", "EP401"),
    # the same class through every route to a name
    (STORE + "for name in ('from_file',):\n    getattr(store, name)", "EP401"),
    (STORE + "NAMES = ('size', 'from_file')\nfor n in NAMES:\n    getattr(store, n)", "EP401"),
    (STORE + "hasattr(store, 'from_file')", "EP401"),
    ("setattr(model, 'save_pretrained', 1)", "EP401"),
    ("delattr(model, 'push_to_hub')", "EP502"),
    ("import operator\noperator.attrgetter('model.save_pretrained')(model)", "EP401"),
    ("import operator\noperator.attrgetter('tokenizer.from_pretrained')(model)", "EP502"),
    ("import functools\nfunctools.update_wrapper(h, model, assigned=['save_pretrained'])", "EP401"),
    ("import functools\nfunctools.wraps(f, assigned=('tofile',))", "EP401"),
    (
        STORE + "import dataclasses\n@dataclasses.dataclass\nclass Opts:\n    from_file: int = 0\n"
        "for f in dataclasses.fields(Opts):\n    getattr(store, f.name)",
        "EP401",
    ),
    (
        STORE + "class Cfg:\n    def get(self, **kwargs):\n        for key in kwargs:\n"
        "            return getattr(self, key)\nCfg.get(store, from_file=1)",
        "EP401",
    ),
    (
        STORE + "class Cfg:\n    def get(self, **kwargs):\n        for key in kwargs:\n"
        "            return getattr(self, key)\nCfg.get(store, **{'from_file': 1})",
        "EP401",
    ),
    (
        STORE + "class Cfg:\n    def get(self, **kwargs):\n        for key in kwargs:\n"
        "            return getattr(self, key)\nNAMES = {'from_file': 1}\nCfg.get(store, **NAMES)",
        "EP401",
    ),
    # native file openers, by any spelling
    ("arr = model.x\narr.fromfile('/job/spec.json')", "EP401"),
    ("getattr(model.np, 'memmap')('/job/spec.json')", "EP401"),
    ("getattr(model.x, 'open_memmap')('/job/spec.json')", "EP401"),
    ("model.st.safe_open('/job/spec.json', 'pt')", "EP401"),
    ("model.st.load_file('/job/spec.json')", "EP401"),
    ("model.st.save_file({}, '/out/result.json')", "EP401"),
    ("model.tokenizer.backend_tokenizer.save('/out/result.json')", "EP401"),
    ("model.tokenizer.backend_tokenizer.model.read_file('/job/v', '/job/m')", "EP401"),
    ("type(model.tokenizer)(tokenizer_file='/job/spec.json')", "EP401"),
    (STORE + "store._set_from_file(0, 0, True, 1)", "EP401"),
    (STORE + "store._write_file(model.f, True, True, 1)", "EP401"),
]


@pytest.mark.parametrize(("source", "rule_id"), ROUTES_REFUSED)
def test_attribute_named_by_string_meets_attribute_rules(source: str, rule_id: str) -> None:
    assert rule_id in _rules(source)


ROUTES_ALLOWED = [
    "getattr(model, 'model')",
    "for name in ('accuracy', 'f1'):\n    getattr(model, name)",
    "import operator\noperator.attrgetter('config.hidden_size')(model.model)",
    "import operator\noperator.methodcaller('strip')(' a ')",
    "import functools\n@functools.wraps(model)\ndef g():\n    pass",
    "import dataclasses\n@dataclasses.dataclass\nclass Row:\n    value: int = 0\n"
    "for f in dataclasses.fields(Row):\n    getattr(Row(), f.name)",
]


@pytest.mark.parametrize("source", ROUTES_ALLOWED)
def test_ordinary_names_by_string_pass(source: str) -> None:
    assert not _rules(source)


MERGE = "def merge(into, extra):\n    into.update(extra)\n"
DICT_UPDATES_ALLOWED = [
    # the attacker's false positives
    "import statistics\n"
    "def score_batch(predictions, references):\n"
    "    hits = [p.strip() == r.strip() for p, r in zip(predictions, references)]\n"
    "    return {'exact_match': sum(hits) / len(hits), 'n': float(len(hits))}\n"
    "def length_stats(predictions):\n"
    "    return {'mean_len': statistics.mean(len(p) for p in predictions)}\n"
    "metrics = score_batch(['Paris', '4'], ['Paris', 'four'])\n"
    "metrics.update(length_stats(['Paris', '4']))",
    MERGE + "    return into\nmerge({'a': 1.0}, {'b': 2.0})",
    MERGE + "merge(into={}, extra=x)\nmerge(dict(), x)",
    "def fresh():\n    if x:\n        return {}\n    return dict(a=1)\nfresh().update(m)",
]


@pytest.mark.parametrize("source", DICT_UPDATES_ALLOWED)
def test_update_on_a_plain_dict_is_a_dict_update(source: str) -> None:
    assert "EP202" not in _rules(source)


BUILT = "name = ''.join(chr(c) for c in (95, 95, 99, 108, 97, 115, 115, 95, 95))\n"
DICT_UPDATES_REFUSED = [
    # a script function that may return something else
    BUILT + "def pick():\n    if x:\n        return {}\n    return model.config\n"
    "pick().update({name: C})",
    BUILT + "def pick():\n    yield model.config\npick().update({name: C})",
    BUILT + "import functools\n@functools.cache\ndef pick():\n    return {}\n"
    "pick().update({name: C})",
    BUILT + "def pick():\n    return {}\npick = lambda: model.config\npick().update({name: C})",
    # a parameter some caller fills with a library object, or that escapes the analysis
    BUILT + MERGE + "merge({}, {})\nmerge(model.config, {name: C})",
    BUILT + MERGE + "f = merge\nf(model.config, {name: C})",
    BUILT + MERGE + "merge(*[model.config, {name: C}])",
    BUILT + "def merge(into, extra):\n    for into in extra:\n        into.update({name: C})\n"
    "merge({}, [model.config])",
    BUILT + MERGE + "merge(into=model.config, extra={name: C})",
]


@pytest.mark.parametrize("source", DICT_UPDATES_REFUSED)
def test_update_on_what_may_not_be_a_dict_is_refused(source: str) -> None:
    assert "EP202" in _rules(source)


SINK = (
    "class EvalConfig:\n    def __init__(self, **kwargs):\n"
    "        for key, value in kwargs.items():\n            setattr(self, key, value)\n"
)
UNSEEN = "inputs = model.tokenizer(['a'], return_tensors='pt')\n"

KWARGS_UNREACHABLE = [
    SINK + "cfg = EvalConfig(batch_size=4)\n" + UNSEEN + "net = model.model\nnet(**inputs)",
    SINK + "cfg = EvalConfig(batch_size=4)\n" + UNSEEN + "model.model.generate(**inputs)",
    SINK + UNSEEN + "def run(**kw):\n    return kw\nrun(**inputs)",
]


@pytest.mark.parametrize("source", KWARGS_UNREACHABLE)
def test_unseen_keywords_that_cannot_reach_the_sink_pass(source: str) -> None:
    assert "EP202" not in _rules(source)


KWARGS_REACHABLE = [
    SINK + UNSEEN + "EvalConfig(**inputs)",
    SINK + UNSEEN + "EvalConfig.__init__(model.config, **inputs)",
    SINK + UNSEEN + "class Sub(EvalConfig):\n    pass\nSub(**inputs)",
    SINK + UNSEEN + "holder = [EvalConfig]\nholder[0](**inputs)",
    SINK + UNSEEN + "cfg = EvalConfig()\ntype(cfg)(**inputs)",
    SINK + UNSEEN + "model.cls = EvalConfig\nmodel.cls(**inputs)",
    SINK + UNSEEN + "init = EvalConfig().__init__\ninit(**inputs)",
    (
        "class Cfg:\n    def __call__(self, **kwargs):\n        for key in kwargs:\n"
        "            setattr(self, key, 1)\n" + UNSEEN + "c = Cfg()\nf = model.x\nf(**inputs)"
    ),
    "def tune(c, **kw):\n    c.update(**kw)\n" + UNSEEN + "tune(model.config, **inputs)",
    SINK + "EvalConfig(__class__=int)",
]


@pytest.mark.parametrize("source", KWARGS_REACHABLE)
def test_unseen_keywords_that_may_reach_the_sink_are_refused(source: str) -> None:
    assert "EP202" in _rules(source)


@pytest.mark.parametrize(
    ("source", "rule_id"),
    [
        ("'{0.tofile}'.format(model.x)", "EP401"),
        ("'{m.tokenizer.from_pretrained}'.format(m=model)", "EP502"),
    ],
)
def test_format_field_walks_meet_attribute_rules(source: str, rule_id: str) -> None:
    assert rule_id in _rules(source)


def test_ordinary_format_fields_pass() -> None:
    assert not _rules("'{0.shape} {x.mean:.3f} {0.config.hidden_size}'.format(model, x=1)")


KWARGS_FORWARDED = [
    # a forwarder of its own **kwargs to the sink is a sink too
    SINK + UNSEEN + "def make(**kw):\n    return EvalConfig(**kw)\nmake(**inputs)",
    SINK + UNSEEN + "make = lambda **kw: EvalConfig(**kw)\nmake(**inputs)",
    SINK + UNSEEN + "class Sub(EvalConfig):\n    def __init__(self, **kw):\n"
    "        super().__init__(**kw)\nSub(**inputs)",
    # the method named by a string
    (
        "class Cfg:\n    def get(self, **kwargs):\n        for key in kwargs:\n"
        "            return getattr(self, key)\n" + UNSEEN + "getattr(Cfg(), 'get')(**inputs)"
    ),
    (
        "import operator\nclass Cfg:\n    def get(self, **kwargs):\n        for key in kwargs:\n"
        "            return getattr(self, key)\n"
        + UNSEEN
        + "operator.methodcaller('get', **inputs)(Cfg())"
    ),
    # a metaclass `__call__` runs on `C(**m)`
    (
        "class Meta(type):\n    def __call__(cls, **kwargs):\n        for key in kwargs:\n"
        "            setattr(cls, key, 1)\nclass C(metaclass=Meta):\n    pass\n"
        + UNSEEN
        + "C(**inputs)"
    ),
]


@pytest.mark.parametrize("source", KWARGS_FORWARDED)
def test_unseen_keywords_reaching_the_sink_indirectly_are_refused(source: str) -> None:
    assert "EP202" in _rules(source)


# A script class's own `def save(self)` (fp/f15, fp2/h04) is script code, not a native
# file writer; the spelling rule still holds on any other receiver.
OWN_SAVE_ALLOWED = [
    "class Results:\n    def __init__(self):\n        self.rows = []\n"
    "    def save(self, name):\n        self.rows.append(name)\n"
    "r = Results()\nr.save('x')",
    "class Acc:\n    def save(self):\n        return {}\n    def done(self):\n"
    "        return self.save()\nAcc().done()",
    "class Store:\n    def read_text(self):\n        return ''\nStore().read_text()",
]


@pytest.mark.parametrize("source", OWN_SAVE_ALLOWED)
def test_script_class_own_file_named_method_passes(source: str) -> None:
    assert "EP401" not in _rules(source)


OWN_SAVE_REFUSED = [
    # the review's example (fp/f05): a real tokenizer's native writer, even into /tmp
    "tok = model.tokenizer\ntok.save('/tmp/tok.json')",
    "class R:\n    def save(self, p):\n        pass\nr = R()\nr = model.tokenizer\nr.save('p')",
    "class R:\n    def save(self, p):\n        pass\nr = R()\nr.save = model.tokenizer.save\n"
    "r.save('p')",
    "class R:\n    def save(self, p):\n        pass\nsetattr(R, 'save', model.tokenizer.save)\n"
    "R().save('p')",
    "class R:\n    def save(self, p):\n        pass\n    def go(self, p):\n"
    "        self.save(p)\nR.go(model.tokenizer, 'p')",
    "import tokenizers\nclass R(tokenizers.Tokenizer):\n    pass\nR().save('p')",
    "getattr(R(), 'save')('p')",
]


@pytest.mark.parametrize("source", OWN_SAVE_REFUSED)
def test_file_named_method_on_other_receivers_is_refused(source: str) -> None:
    assert "EP401" in _rules(source)
