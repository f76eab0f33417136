"""Objects a call hands out (validator/policy/shared.py): `logging.getLogger()` is the root
logger the harness shares with the script, so changing it, or anything reached from a
logger (`.manager`, `.parent`, a handler), is EP109 by every route the analysis follows,
while a logger the script names itself keeps its ordinary settings."""

from __future__ import annotations

import pytest

from sandbox_images.harness.script_module import MODULE_NAME
from validator.findings import blocking
from validator.policy.engine import run_policy
from validator.policy.shared import SCRIPT_MODULE_NAME

ENTRY = "\n\n\ndef evaluate_model(model):\n    return {}\n"


def _blocking(source: str) -> set[str]:
    return {f.rule for f in blocking(run_policy("import logging\n" + source + ENTRY))}


REFUSED = {
    # the reported examples
    "root_manager": "logging.getLogger().manager.disable = 99",
    "named_manager": "logging.getLogger('x').manager.disable = 99",
    "harness_logger": "logging.getLogger('lm_eval.models.huggingface').disabled = True",
    "transformers_logger": "logging.getLogger('transformers').level = 60",
    # the root logger by every name
    "root_disabled": "logging.getLogger().disabled = True",
    "root_by_name": "logging.getLogger('root').propagate = False",
    "root_by_none": "logging.getLogger(None).disabled = True",
    "fstring_runtime": "x = 1\nlogging.getLogger(f'transformers.{x}').disabled = True",
    "fstring_completing": "x = 1\nlogging.getLogger(f'lm_{x}').disabled = True",
    "fstring_root": "x = ''\nlogging.getLogger(f'{x}').disabled = True",
    "computed_name": "import random\nlogging.getLogger(random.choice(['', 'e'])).disabled = True",
    # what is reached from any logger, the script's own included
    "own_parent": "logging.getLogger('eval').parent.disabled = True",
    "own_root": "lg = logging.getLogger('eval')\nlg.root.handlers = []",
    "own_manager_dict": "logging.getLogger('eval').manager.loggerDict.clear()",
    "own_list_replaced_by_roots": "lg = logging.getLogger('eval')\n"
                                  "lg.handlers = logging.root.handlers\nlg.handlers.clear()",
    "own_list_unpacked": "lg = logging.getLogger('eval')\n"
                         "lg.handlers, n = logging.getLogger().handlers, 1",
    "own_other_attribute": "logging.getLogger('eval').makeRecord = print",
    "child_of_root": "logging.getLogger().getChild('x').parent.disabled = True",
    # a logger of any making reaches the registry
    "fresh_logger": "logging.Logger('mine').manager.disable = 99",
    "fresh_logger_root": "lg = logging.Logger('mine')\nlg.root.disabled = True",
    "logger_of_returned_class": "logging.getLoggerClass()('x').manager.disable = 99",
    "logger_class_alias": "cls = logging.getLoggerClass()\ncls('x').root.disabled = True",
    "script_subclass": "class L(logging.Logger):\n    pass\nL('x').manager.disable = 99",
    "script_subclass_self": "class L(logging.Logger):\n    def quiet(self):\n"
                            "        self.manager.disable = 99",
    "script_subclass_deep": "class A(logging.getLoggerClass()):\n    pass\nclass B(A):\n"
                            "    pass\nB('x').root.handlers.clear()",
    # the classes logging instantiates
    "logger_class": "logging.getLoggerClass().makeRecord = print",
    "record_factory": "logging.getLogRecordFactory().getMessage = str",
    # every way of changing it
    "augmented": "logging.getLogger().manager.disable += 99",
    "deleted": "del logging.getLogger().manager.disable",
    "items": "logging.getLogger().handlers[:] = []",
    "method": "logging.getLogger().handlers.clear()",
    "setattr": "setattr(logging.getLogger(), 'disabled', True)",
    "operator": "import operator\noperator.delitem(logging.getLogger().handlers, 0)",
    # every route to it
    "alias": "lg = logging.getLogger()\nlg.handlers = []",
    "walrus": "(lg := logging.getLogger()).disabled = True",
    "handler_loop": "for h in logging.getLogger().handlers:\n    h.stream = None",
    "handlers_copied": "hs = list(logging.getLogger().handlers)\nhs[0].stream = None",
    "function": "def get():\n    return logging.getLogger()\nget().manager.disable = 99",
    "function_module_value": "def get():\n    return logging.root\nget().manager.disable = 99",
    "lambda": "(lambda: logging.root)().disabled = True",
    "display": "[logging.root][0].manager.disable = 99",
    "dict_display": "{'r': logging.root}['r'].disabled = True",
    "loop_over_list": "loggers = [logging.getLogger()]\nfor lg in loggers:\n    lg.disabled = True",
    "copy": "import copy\ncopy.copy(logging.root).manager.disable = 99",
    "max": "max([logging.getLogger('a'), logging.root], key=id).disabled = True",
    "adapter": "logging.LoggerAdapter(logging.getLogger('eval'), {}).logger.manager.disable = 9",
    "self_attribute": "class C:\n    def __init__(self):\n        self.log = logging.getLogger()\n"
                      "    def go(self):\n        self.log.manager.disable = 99",
    "class_attribute": "class C:\n    log = logging.getLogger()\n    def go(self):\n"
                       "        self.log.disabled = True",
    "parameter": "def quiet(lg):\n    lg.manager.disable = 99\nquiet(logging.getLogger('eval'))",
    "keyword_parameter": "def quiet(*, lg):\n    lg.disabled = True\nquiet(lg=logging.root)",
    "method_parameter": "class Q:\n    def quiet(self, lg):\n        lg.disabled = True\n"
                        "Q().quiet(logging.root)",
    "constructor_argument": "class Quiet:\n    def __init__(self, lg):\n        self.lg = lg\n"
                            "    def go(self):\n        self.lg.manager.loggerDict.clear()\n"
                            "Quiet(logging.getLogger('eval').root).go()",
    "either": "lg = logging.getLogger('eval') if len('a') else logging.getLogger()\n"
              "lg.disabled = True",
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_changing_what_a_call_hands_out_is_refused(case: str) -> None:
    assert "EP109" in _blocking(REFUSED[case])


ALLOWED = {
    "set_level": "logging.getLogger(__name__).setLevel(logging.INFO)",
    "log_through": "logger = logging.getLogger('x')\nlogger.info('hi')",
    "root_calls": "logging.getLogger().setLevel(logging.INFO)\nlogging.basicConfig(level=10)",
    "own_settings": "logger = logging.getLogger('eval')\nlogger.propagate = False\n"
                    "logger.disabled = False\nlogger.level = logging.INFO",
    "own_by_module_name": "logger = logging.getLogger(__name__)\nlogger.propagate = False",
    "own_by_keyword": "logging.getLogger(name='eval').propagate = False",
    "own_list_new": "lg = logging.getLogger('eval')\nlg.handlers = []\n"
                    "lg.handlers += [logging.StreamHandler()]\n"
                    "lg.filters = list(logging.root.filters)",
    "own_fstring_child": "task = 'qa'\nlogging.getLogger(f'eval.{task}').propagate = False",
    "own_lists": "lg = logging.getLogger('eval')\nlg.handlers.clear()\nlg.handlers[:] = []\n"
                 "lg.handlers = []\nlg.filters.append(logging.Filter('eval'))",
    "own_returned": "def get():\n    return logging.getLogger('eval')\nget().propagate = False",
    "own_passed_to_class": "class Holder:\n    def __init__(self, lg):\n        self.lg = lg\n"
                           "        self.n = 0\n    def go(self):\n"
                           "        self.lg.propagate = False\n        self.n += 1\n"
                           "Holder(logging.getLogger('eval')).go()",
    "fresh_handler": "import sys\nh = logging.StreamHandler(sys.stderr)\nh.level = logging.INFO\n"
                     "h.formatter = logging.Formatter('%(message)s')\nh.name = 'mine'\n"
                     "logging.getLogger('eval').addHandler(h)",
    "level_keyword": "h = logging.Handler(level=logging.INFO)\nh.name = 'x'",
    "own_containers": "LOGS = {'a': logging.getLogger('eval.a')}\n"
                      "LOGS.update(b=logging.getLogger('eval.b'))\nLOGS['c'] = logging.root\n"
                      "hs = [logging.StreamHandler()]\nhs.append(logging.NullHandler())",
    "own_on_self": "class C:\n    def __init__(self):\n"
                   "        self.log = logging.getLogger('eval.c')\n"
                   "        self.log.propagate = False\n        self.count = 0\n"
                   "    def go(self):\n        self.count += 1",
    "class_own": "class C:\n    log = logging.getLogger('eval.scorer')\n    def go(self):\n"
                 "        self.log.debug('x')\n        self.log.disabled = True",
    "other_libraries": "import torch\nlayer = torch.nn.Linear(2, 2, dtype=torch.float32)\n"
                       "layer.bias.requires_grad = False\nt = torch.zeros(3)\n"
                       "t.requires_grad = True\nD = {'fp32': torch.float32}\n"
                       "D.update(fp16=torch.float16)",
}


@pytest.mark.parametrize("case", sorted(ALLOWED))
def test_ordinary_logging_and_own_loggers_pass(case: str) -> None:
    assert _blocking(ALLOWED[case]) == set()


def test_script_module_name_is_the_harness_module_name() -> None:
    # `logging.getLogger(__name__)` is the script's own logger only under this name.
    assert SCRIPT_MODULE_NAME == MODULE_NAME
