"""File system access: `open`, numpy/torch file functions, Path-style and save methods."""

from __future__ import annotations

import ast
from typing import Final

from validator.policy.context import Checker, Context
from validator.policy.reach import own_method

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
# File openers in native code (C++, Rust): no `open` audit event reaches the runtime guard,
# so the spelling is all there is to refuse, on any object and by any route to the name
# (`getattr(x, "tofile")` meets the attribute rules as `x.tofile` does).
NATIVE_FILE_METHODS: Final = frozenset(
    {
        # numpy: files and memory maps by path (`np.lib.format.open_memmap`)
        "fromfile", "memmap", "open_memmap",
        # safetensors: `safe_open`, `safetensors.torch.load_file/save_file/load_model`
        "safe_open", "load_file", "save_file", "load_model",
        # tokenizers: `Tokenizer.from_file/save`, `models.BPE.read_file`
        "read_file", "save",
        # torch storages: read/write/map a path or a raw file descriptor
        "_new_with_file", "_set_from_file", "_write_file", "_new_shared_filename_cpu",
        "_new_using_filename_cpu", "_new_shared_fd_cpu", "PyTorchFileReader",
        "PyTorchFileWriter",
    }
)
# Keywords with which a constructor opens a file natively (`PreTrainedTokenizerFast(
# tokenizer_file=path)` is `tokenizers.Tokenizer.from_file(path)`).
FILE_KEYWORDS: Final = frozenset({"tokenizer_file"})


class FileIOChecker(Checker):
    def reference(self, ctx: Context, node: ast.expr, names: frozenset[str]) -> None:
        for name in names & FILE_FUNCTIONS:
            ctx.report("EP401", node, f"`{name.removeprefix('builtins.')}` touches the file system")

    def attribute(self, ctx: Context, node: ast.AST, attr: str) -> None:
        if attr not in FILE_METHODS and attr not in NATIVE_FILE_METHODS:
            return
        if isinstance(node, ast.Attribute) and ctx.is_callee(node):
            return  # `x.save(...)`: decided in `call`, once the receiver's bindings are known
        ctx.report("EP401", node, f"`.{attr}()` touches the file system")

    def call(self, ctx: Context, node: ast.Call, callee: frozenset[str]) -> None:
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and (func.attr in FILE_METHODS or func.attr in NATIVE_FILE_METHODS)
            and not own_method(ctx, func.value, func.attr)
        ):
            # A script class's own `def save(self)` runs script code, checked as such.
            ctx.report("EP401", func, f"`.{func.attr}()` touches the file system")
        for keyword in node.keywords:
            if keyword.arg in FILE_KEYWORDS:
                ctx.report("EP401", keyword, f"`{keyword.arg}=` opens a file")
