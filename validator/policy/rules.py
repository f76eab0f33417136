"""The registry of evalpod policy rules: id, default severity, message, hint, overridability."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from validator.findings import Finding, Severity


@dataclass(frozen=True)
class Rule:
    """One policy rule. `overridable=False` rules ignore tenant severity overrides."""

    id: str
    name: str
    severity: Severity
    message: str
    hint: str
    overridable: bool = True

    def finding(
        self, message: str | None = None, line: int | None = None, column: int | None = None
    ) -> Finding:
        return Finding(
            rule=self.id,
            severity=self.severity,
            message=message or self.message,
            hint=self.hint,
            line=line,
            column=column,
        )


_ALL: Final = (
    Rule("EP001", "syntax-error", "error", "The script is not valid Python 3.11.",
         "Fix the syntax error; the script must parse with `ast.parse`.", False),
    Rule("EP010", "missing-entrypoint", "error",
         "No top-level `def evaluate_model(model)` function.",
         "Define `def evaluate_model(model):` at module level returning a dict.", False),
    Rule("EP011", "bad-entrypoint", "error",
         "`evaluate_model` has the wrong shape.",
         "Use a plain (not async) `def evaluate_model(model):` defined exactly once; "
         "any other parameter needs a default.", False),
    Rule("EP101", "import-not-allowed", "error", "Import of a module outside the allowlist.",
         "Use the allowed modules (torch, transformers, numpy and pure-Python stdlib "
         "helpers) or ask an admin to add the module to the tenant policy."),
    Rule("EP102", "import-denied", "error",
         "Import of a denied module (process, file, network or interpreter access).",
         "Evaluation scripts cannot use this module; compute metrics from `model` only.",
         False),
    Rule("EP103", "star-import", "error", "`from module import *` hides which names are used.",
         "Import the names you need explicitly."),
    Rule("EP104", "denied-api", "error",
         "Use of a denied API (network, native code, subprocess or interpreter internals).",
         "Use the `model` object you are given; do not download or load code.", False),
    Rule("EP105", "private-member", "error", "Access to a private member of a module.",
         "Use the public API of the module."),
    Rule("EP106", "module-as-value", "error",
         "A module object is stored or passed around instead of used as `module.name`.",
         "Use `module.attribute` directly; modules cannot be aliased through variables, "
         "containers or arguments.", False),
    Rule("EP107", "unlisted-api", "error",
         "Use of a name in an allowed package that is not on its allowlist.",
         "Inside torch, transformers, numpy and the stdlib only listed modules and names are "
         "available (tensor maths, torch.nn, torch.utils.data, model and tokenizer classes, "
         "generation); see docs/validation.md, or ask an admin to allow the module.", False),
    Rule("EP108", "module-named-attribute", "warning",
         "An attribute named like a process, file or network module (`.os`, `.sys`) on an "
         "object the analysis cannot type.",
         "Fine for your own fields (a dataclass field `os`); on a module it is denied at run "
         "time by the runtime guard, which blocks process, file and network use."),
    Rule("EP109", "module-tampering", "error",
         "An attribute of an imported module (or of an object reached from one) is "
         "assigned, deleted or item-assigned.",
         "Modules are shared with the harness that runs the script; keep your changes in "
         "your own objects (only the torch.backends cudnn/matmul flags may be set).", False),
    Rule("EP201", "dynamic-code", "error",
         "Dynamic code execution (`eval`, `exec`, `compile`, `__import__`).",
         "Write the code out; scripts may not build and run code at runtime.", False),
    Rule("EP202", "reflective-access", "error",
         "Reflective attribute access with a computed or forbidden name.",
         "Use plain attribute access, or `getattr` with a literal non-dunder name.", False),
    Rule("EP203", "namespace-access", "error", "Access to `globals()`, `locals()` or `vars()`.",
         "Pass values explicitly instead of reading namespaces.", False),
    Rule("EP204", "frame-access", "error",
         "Access to interpreter frames, tracebacks or code objects.",
         "Frames and code objects are not available to evaluation scripts.", False),
    Rule("EP205", "interactive-builtin", "error",
         "Interactive or debugger builtin (`breakpoint`, `help`, `input`, `license`...).",
         "Scripts run unattended; remove the call.", False),
    Rule("EP206", "dynamic-type", "error", "Class created with three-argument `type()`.",
         "Declare the class with a `class` statement."),
    Rule("EP207", "unseen-format-template", "warning",
         "`.format()` on a template the analysis cannot see (a parameter or attribute).",
         "Fine for templates you wrote; what a format field's attribute walk could reach "
         "(frames, code, processes, files) is denied at run time by the runtime guard."),
    Rule("EP208", "foreign-class", "error",
         "The class of an object the script did not make (`type(x)`) is called, stored or "
         "passed on.",
         "Compare or name classes (`type(x) is int`, `type(x).__name__`, `isinstance`); "
         "construct objects through their public names.", False),
    Rule("EP301", "dunder-escape", "error",
         "Access to a dunder attribute or name used in sandbox escapes.",
         "Use public attributes; `__class__`, `__globals__`, `__subclasses__` and similar "
         "are not available.", False),
    Rule("EP302", "dunder-string", "error",
         "A string holds a dunder or frame attribute name (format-string or getattr escape).",
         "Do not put names like `__globals__` in strings or format fields.", False),
    Rule("EP401", "file-io", "error", "File system access.",
         "Return metrics instead of writing files; read nothing from disk."),
    Rule("EP501", "unsafe-deserialisation", "error",
         "Deserialisation that can run code (pickle, `torch.load` without "
         "`weights_only=True`, `numpy.load(allow_pickle=True)`).",
         "Do not unpickle data; use `weights_only=True` / `allow_pickle=False`.", False),
    Rule("EP502", "model-download", "error",
         "Loading or publishing models or pipelines by name (`from_pretrained`, `pipeline`, "
         "`push_to_hub`).",
         "Use `model.model` and `model.tokenizer`; the sandbox has no network."),
    Rule("EP503", "remote-code", "error", "`trust_remote_code` enabled.",
         "Remote code is never trusted; remove `trust_remote_code=True`.", False),
    Rule("EP601", "decoder-call", "error",
         "Decoding of an encoded payload (base64, hex, rot13, zlib...).",
         "Keep data in plain literals; encoded payloads are treated as hidden code."),
    Rule("EP602", "encoded-code", "error", "An encoded string literal decodes to code.",
         "Write code in plain text; hidden code is rejected.", False),
    Rule("EP603", "opaque-blob", "warning", "A long opaque base64/hex literal.",
         "Large encoded blobs are unusual in evaluation scripts; prefer plain data."),
    Rule("EP900", "analyser-failed", "error",
         "A static analyser failed on this script, so it cannot be cleared.",
         "Simplify the script (very deep nesting or huge expressions break analysers).",
         False),
    Rule("EP901", "analysis-timeout", "error", "Static analysis ran past its time budget.",
         "Shorten or simplify the script.", False),
    Rule("EP902", "bandit-skipped", "error", "bandit could not scan the script.",
         "Make the script valid, plain Python 3.11.", False),
)

RULES: Final[dict[str, Rule]] = {rule.id: rule for rule in _ALL}


def rule(rule_id: str) -> Rule:
    return RULES[rule_id]
