"""File system access: `open`, numpy/torch file functions, Path-style and save methods."""

from __future__ import annotations

import ast
from typing import Final

from validator.policy.context import Checker, Context

FILE_FUNCTIONS: Final = frozenset(
    {
        "builtins.open",
        *(
            f"numpy.{name}"
            for name in (
                "load", "save", "savez", "savez_compressed", "savetxt", "loadtxt", "genfromtxt",
                "fromfile", "fromregex", "memmap", "DataSource",
            )
        ),
        "torch.save", "torch.load", "torch.from_file", "torch.serialization.load",
        "torch.serialization.save",
    }
)
FILE_METHODS: Final = frozenset(
    {
        "from_file", "read_bytes", "read_text", "write_bytes", "write_text", "tofile",
        "save_pretrained",
        "save_vocabulary", "to_json_file", "save_model",
    }
)


class FileIOChecker(Checker):
    def reference(self, ctx: Context, node: ast.expr, names: frozenset[str]) -> None:
        for name in names & FILE_FUNCTIONS:
            ctx.report("EP401", node, f"`{name.removeprefix('builtins.')}` touches the file system")

    def attribute(self, ctx: Context, node: ast.AST, attr: str) -> None:
        if attr in FILE_METHODS:
            ctx.report("EP401", node, f"`.{attr}()` touches the file system")
