"""Deserialisation that runs code, model downloads, and `trust_remote_code`."""

from __future__ import annotations

from typing import Final

import libcst as cst

from validator.policy.context import Checker, Context, fold_str

UNPICKLERS: Final = frozenset(
    {
        "pickle.load", "pickle.loads", "pickle.Unpickler", "_pickle.load", "_pickle.loads",
        "cPickle.load", "cPickle.loads", "marshal.load", "marshal.loads", "shelve.open",
        "dill.load", "dill.loads", "cloudpickle.load", "cloudpickle.loads", "joblib.load",
        "pandas.read_pickle", "torch.jit.load", "yaml.unsafe_load", "jsonpickle.decode",
    }
)
# Safe only with a literal keyword: name -> (keyword, the literal that makes it safe).
GUARDED_LOADERS: Final = {
    "torch.load": ("weights_only", "True"),
    "torch.serialization.load": ("weights_only", "True"),
    "numpy.load": ("allow_pickle", "False"),
    "yaml.load": ("Loader", "yaml.SafeLoader"),
}
DOWNLOADERS: Final = frozenset({"transformers.pipeline", "transformers.pipelines.pipeline"})
DOWNLOAD_METHODS: Final = frozenset({"from_pretrained", "from_single_file", "push_to_hub"})
REMOTE_CODE = "trust_remote_code"


class DeserialiseChecker(Checker):
    def reference(self, ctx: Context, node: cst.BaseExpression, names: frozenset[str]) -> None:
        for name in names & UNPICKLERS:
            ctx.report("EP501", node, f"`{name}` can run code while loading")
        for name in names & GUARDED_LOADERS.keys():
            if not ctx.is_callee(node):
                ctx.report("EP501", node, f"`{name}` used as a value; its arguments are unknown")
        for name in names & DOWNLOADERS:
            ctx.report("EP502", node, f"`{name}` downloads models")

    def attribute(self, ctx: Context, node: cst.Attribute, attr: str) -> None:
        if attr in DOWNLOAD_METHODS:
            ctx.report("EP502", node, f"`.{attr}` loads or publishes a model by name")

    def call(self, ctx: Context, node: cst.Call, callee: frozenset[str]) -> None:
        for name in callee & GUARDED_LOADERS.keys():
            keyword, safe = GUARDED_LOADERS[name]
            if not _keyword_is(node, keyword, safe, default_safe=name == "numpy.load"):
                ctx.report("EP501", node, f"`{name}` without `{keyword}={safe}`")
        for arg in node.args:
            literal_false = isinstance(arg.value, cst.Name) and arg.value.value == "False"
            if arg.keyword is not None and arg.keyword.value == REMOTE_CODE and not literal_false:
                ctx.report("EP503", arg, "`trust_remote_code` is not literally False")

    def string(self, ctx: Context, node: cst.CSTNode, value: str) -> None:
        if REMOTE_CODE in value:
            ctx.report("EP503", node, "string mentions `trust_remote_code`")


def _keyword_is(node: cst.Call, keyword: str, safe: str, *, default_safe: bool) -> bool:
    for arg in node.args:
        if arg.star:
            return False
        if arg.keyword is not None and arg.keyword.value == keyword:
            return cst.Module([]).code_for_node(arg.value) == safe or fold_str(arg.value) == safe
    return default_safe

