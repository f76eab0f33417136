"""Deserialisation that runs code, model downloads, and `trust_remote_code`."""

from __future__ import annotations

import ast
from typing import Final

from validator.policy.context import Checker, Context, dotted

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
    def reference(self, ctx: Context, node: ast.expr, names: frozenset[str]) -> None:
        for name in names & UNPICKLERS:
            ctx.report("EP501", node, f"`{name}` can run code while loading")
        for name in names & GUARDED_LOADERS.keys():
            if not ctx.is_callee(node):
                ctx.report("EP501", node, f"`{name}` used as a value; its arguments are unknown")
        for name in names & DOWNLOADERS:
            ctx.report("EP502", node, f"`{name}` downloads models")

    def attribute(self, ctx: Context, node: ast.AST, attr: str) -> None:
        if attr in DOWNLOAD_METHODS:
            ctx.report("EP502", node, f"`.{attr}` loads or publishes a model by name")

    def call(self, ctx: Context, node: ast.Call, callee: frozenset[str]) -> None:
        for name in callee & GUARDED_LOADERS.keys():
            keyword, safe = GUARDED_LOADERS[name]
            if not _keyword_is(ctx, node, keyword, safe, default_safe=name == "numpy.load"):
                ctx.report("EP501", node, f"`{name}` without `{keyword}={safe}`")
        for arg in node.keywords:
            literal_false = isinstance(arg.value, ast.Constant) and arg.value.value is False
            if arg.arg == REMOTE_CODE and not literal_false:
                ctx.report("EP503", arg, "`trust_remote_code` is not literally False")

    def string(self, ctx: Context, node: ast.expr, value: str) -> None:
        if REMOTE_CODE in value:
            ctx.report("EP503", node, "string mentions `trust_remote_code`")


def _keyword_is(
    ctx: Context, node: ast.Call, keyword: str, safe: str, *, default_safe: bool
) -> bool:
    """Whether `keyword` is literally `safe`; unpacked arguments might set it to anything."""
    if any(isinstance(arg, ast.Starred) for arg in node.args):
        return False
    for arg in node.keywords:
        if arg.arg is None:
            return False
        if arg.arg == keyword:
            return _literal_text(arg.value) == safe or ctx.literal_str(arg.value) == safe
    return default_safe


def _literal_text(expr: ast.expr) -> str:
    """How a constant or dotted name is written (`True`, `yaml.SafeLoader`)."""
    if isinstance(expr, ast.Constant) and expr.value in (True, False, None):
        return repr(expr.value)
    return dotted(expr)

