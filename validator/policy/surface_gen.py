"""Developer tool: regenerate `surface.json`, what scripts may reach inside allowed packages.

Run `python -m validator.policy.surface_gen` in an environment with the runtime's torch,
transformers and numpy after upgrading any of them, then review the diff: every name in the
file is one a script may use, and a name that is not there is refused (EP107). The service
itself only reads the JSON; it never imports these packages (CONTRIBUTING invariant 5).

What each module exposes is read from the installed package (so a name that does not exist
is refused: a failed lookup on a module would hand the module out through
`AttributeError.obj`); which of those names are allowed is decided by the rules below.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
import types
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("surface.json")

# Pure-computation stdlib modules: every public name except the listed code-running,
# file-reading or process-changing ones.
STDLIB: dict[str, frozenset[str]] = {
    "__future__": frozenset(),
    "abc": frozenset(),
    "array": frozenset(),
    "bisect": frozenset(),
    "cmath": frozenset(),
    "collections": frozenset(),
    "collections.abc": frozenset(),
    # chdir changes the process's working directory for every thread.
    "contextlib": frozenset({"chdir"}),
    "copy": frozenset(),
    # make_dataclass puts caller-chosen text into source code it execs.
    "dataclasses": frozenset({"make_dataclass"}),
    "datetime": frozenset(),
    "decimal": frozenset(),
    "difflib": frozenset(),
    "enum": frozenset(),
    "fractions": frozenset(),
    "functools": frozenset(),
    "hashlib": frozenset(),
    "heapq": frozenset(),
    "itertools": frozenset(),
    "json": frozenset(),
    # FileHandler writes files; currentframe hands out a frame; the Style classes format
    # a template over a record's attributes (Formatter and basicConfig are checked for a
    # literal format instead); the record and logger factories replace what the runtime's
    # own logging builds.
    "logging": frozenset(
        {"FileHandler", "currentframe", "PercentStyle", "StrFormatStyle", "StringTemplateStyle",
         "setLogRecordFactory", "setLoggerClass"}
    ),
    "math": frozenset(),
    "numbers": frozenset(),
    "operator": frozenset(),
    "pprint": frozenset(),
    "random": frozenset(),
    "re": frozenset(),
    "statistics": frozenset(),
    # Formatter.vformat traverses attributes named in a runtime string.
    "string": frozenset({"Formatter"}),
    "textwrap": frozenset(),
    "time": frozenset(),
    # get_type_hints / ForwardRef / get_annotations evaluate strings as code.
    "typing": frozenset({"get_type_hints", "ForwardRef", "get_annotations"}),
    "typing_extensions": frozenset(
        {"get_type_hints", "ForwardRef", "get_annotations", "evaluate_forward_ref"}
    ),
    "unicodedata": frozenset(),
    # warn_explicit/formatwarning/showwarning read lines of any file through linecache.
    "warnings": frozenset({"warn_explicit", "formatwarning", "showwarning"}),
}

NUMPY_SUBMODULES = (
    "char", "dtypes", "emath", "exceptions", "fft", "linalg", "ma", "polynomial", "random",
    "rec", "strings", "typing",
)
# Files, native code, printing of source, running the test suite.
NUMPY_DENIED = frozenset(
    {
        "DataSource", "fromfile", "fromregex", "genfromtxt", "info", "load", "loadtxt",
        "lookfor", "memmap", "save", "savetxt", "savez", "savez_compressed", "show_config",
        "show_runtime", "source", "test", "tofile",
    }
)

# torch: tensor maths (the native operator namespace and torch.functional), dtypes and
# layouts, and the grad-mode, seeding and precision helpers evaluation code uses.
TORCH_HELPERS = frozenset(
    {
        "Generator", "Size", "Tensor", "BFloat16Tensor", "BoolTensor", "ByteTensor",
        "CharTensor", "DoubleTensor", "FloatTensor", "HalfTensor", "IntTensor", "LongTensor",
        "ShortTensor", "are_deterministic_algorithms_enabled", "autocast", "device", "dtype",
        "e", "enable_grad", "finfo", "get_default_device", "get_default_dtype",
        "get_float32_matmul_precision", "get_num_threads", "get_rng_state", "iinfo", "inf",
        "inference_mode", "initial_seed", "is_grad_enabled", "is_inference_mode_enabled",
        "is_storage", "is_tensor", "layout", "manual_seed", "memory_format", "nan", "newaxis",
        "no_grad", "pi", "qscheme", "seed", "set_default_dtype", "set_float32_matmul_precision",
        "set_grad_enabled", "set_num_threads", "set_printoptions", "set_rng_state", "typename",
        "use_deterministic_algorithms", "vmap", "OutOfMemoryError",
    }
)
TORCH_NATIVE_DENIED = frozenset({"from_file"})
# Submodules of torch that are maths or model building; everything else (hub, jit, package,
# utils.* but data, serialization, ops, library, compile, distributed...) is refused.
TORCH_SUBMODULES: dict[str, frozenset[str] | None] = {
    "torch.nn": None,
    "torch.nn.functional": None,
    "torch.nn.init": None,
    "torch.nn.utils": frozenset(
        {"clip_grad_norm_", "parameters_to_vector", "vector_to_parameters"}
    ),
    "torch.nn.utils.rnn": None,
    "torch.linalg": None,
    "torch.fft": None,
    "torch.special": None,
    "torch.distributions": None,
    "torch.amp": frozenset({"autocast"}),
    "torch.autograd": frozenset(
        {"Function", "backward", "enable_grad", "grad", "no_grad", "set_grad_enabled",
         "inference_mode"}
    ),
    "torch.random": frozenset(
        {"fork_rng", "get_rng_state", "initial_seed", "manual_seed", "seed", "set_rng_state"}
    ),
    "torch.cuda": frozenset(
        {"current_device", "device", "device_count", "empty_cache", "get_device_name",
         "get_device_properties", "is_available", "is_bf16_supported", "manual_seed",
         "manual_seed_all", "max_memory_allocated", "max_memory_reserved", "memory_allocated",
         "memory_reserved", "reset_peak_memory_stats", "set_device", "synchronize"}
    ),
    "torch.backends": frozenset(),
    "torch.backends.cuda": frozenset({"matmul", "sdp_kernel"}),
    "torch.backends.cudnn": frozenset({"allow_tf32", "benchmark", "deterministic", "enabled"}),
    "torch.backends.mps": frozenset({"is_available", "is_built"}),
    "torch.utils": frozenset(),
    "torch.utils.data": None,
}
# Model-building submodules still hold file or code-loading parts.
TORCH_NN_DENIED = frozenset({"parallel"})

# transformers: model, config and tokenizer classes, generation, outputs, logging levels.
TRANSFORMERS_ALLOWED = re.compile(
    r"^(?:\w*(?:Model|ForCausalLM|LMHeadModel|For[A-Z]\w*|Tokenizer|TokenizerFast|"
    r"TokenizerBase|Config|Encoding|Criteria|CriteriaList|LogitsProcessor|"
    r"LogitsProcessorList|LogitsWarper|Cache|Streamer|Output|OutputWithPast)|"
    r"GenerationConfig|GenerationMixin|DataCollator\w*|set_seed|default_data_collator)$"
)
TRANSFORMERS_DENIED = re.compile(r"Trainer|Training|[Pp]ipeline|Agent|Tool|Hub|TF|Flax")
TRANSFORMERS_SUBMODULES = ("generation", "modeling_outputs", "logging")
TRANSFORMERS_LOGGING = frozenset(
    {"disable_progress_bar", "enable_progress_bar", "get_verbosity", "set_verbosity",
     "set_verbosity_debug", "set_verbosity_error", "set_verbosity_info",
     "set_verbosity_warning", "CRITICAL", "DEBUG", "ERROR", "FATAL", "INFO", "NOTSET", "WARN",
     "WARNING"}
)


# tqdm: the progress bar classes only (not its cli, contrib process pools, gui, notebook).
TQDM: dict[str, frozenset[str]] = {
    "tqdm": frozenset({"tqdm", "trange", "TqdmWarning"}),
    "tqdm.auto": frozenset({"tqdm", "trange"}),
}


def _public(module: Any) -> dict[str, bool]:
    """Public names of `module` -> whether each is a module."""
    names: dict[str, bool] = {}
    for name in dir(module):
        if name.startswith("_"):
            continue
        try:
            value = getattr(module, name)
        except Exception:  # lazy modules raise for optional backends that are missing
            continue
        names[name] = isinstance(value, types.ModuleType)
    return names


def _entry(members: set[str], submodules: dict[str, str]) -> dict[str, Any]:
    return {"members": sorted(members), "submodules": dict(sorted(submodules.items()))}


def _stdlib(surface: dict[str, Any]) -> None:
    for name, denied in STDLIB.items():
        module = importlib.import_module(name)
        public = _public(module)
        members = {n for n, is_mod in public.items() if not is_mod} - denied
        submodules = {n: f"{name}.{n}" for n, is_mod in public.items()
                      if is_mod and f"{name}.{n}" in STDLIB}
        surface[name] = _entry(members, submodules)


def _numpy(surface: dict[str, Any]) -> None:
    import numpy

    public = _public(numpy)
    members = {n for n, is_mod in public.items() if not is_mod} - NUMPY_DENIED
    surface["numpy"] = _entry(members, {n: f"numpy.{n}" for n in NUMPY_SUBMODULES})
    for sub in NUMPY_SUBMODULES:
        module = getattr(numpy, sub)
        sub_public = _public(module)
        sub_members = {n for n, is_mod in sub_public.items() if not is_mod} - NUMPY_DENIED
        surface[f"numpy.{sub}"] = _entry(sub_members, {})


def _torch(surface: dict[str, Any]) -> None:
    import torch

    native = {n for n in dir(torch._C._VariableFunctions) if not n.startswith("_")}
    special_values = {
        n for n in dir(torch)
        if not n.startswith("_")
        and isinstance(getattr(torch, n), torch.dtype | torch.layout | torch.memory_format)
    }
    candidates = (native - TORCH_NATIVE_DENIED) | set(torch.functional.__all__) | TORCH_HELPERS
    candidates |= special_values
    top = _public(torch)
    members = {n for n in candidates if top.get(n) is False}
    subs = {name.split(".")[1]: name for name in TORCH_SUBMODULES if name.count(".") == 1}
    surface["torch"] = _entry(members, subs)
    for name, allowed in TORCH_SUBMODULES.items():
        module = importlib.import_module(name)
        public = _public(module)
        values = {n for n, is_mod in public.items() if not is_mod}
        if allowed is None:
            chosen = values - TORCH_NN_DENIED
        else:  # some (torch.backends.*) set their flags on a module subclass dir() misses
            chosen = {n for n in allowed if hasattr(module, n)
                      and not isinstance(getattr(module, n), types.ModuleType)}
        children = {n: f"{name}.{n}" for n, is_mod in public.items()
                    if is_mod and f"{name}.{n}" in TORCH_SUBMODULES and n not in TORCH_NN_DENIED}
        surface[name] = _entry(chosen, children)


def _transformers(surface: dict[str, Any]) -> None:
    import transformers

    names = [n for n in dir(transformers) if not n.startswith("_")]
    modules = set(getattr(transformers, "_modules", ()))
    members = {
        n for n in names
        if n not in modules and TRANSFORMERS_ALLOWED.match(n) and not TRANSFORMERS_DENIED.search(n)
    }
    surface["transformers"] = _entry(
        members, {n: f"transformers.{n}" for n in TRANSFORMERS_SUBMODULES}
    )
    for sub in ("generation", "modeling_outputs"):
        module = getattr(transformers, sub)
        public = _public(module)
        sub_members = {
            n for n, is_mod in public.items()
            if not is_mod and TRANSFORMERS_ALLOWED.match(n) and not TRANSFORMERS_DENIED.search(n)
        }
        surface[f"transformers.{sub}"] = _entry(sub_members, {})
    logging_public = _public(transformers.logging)
    surface["transformers.logging"] = _entry(
        {n for n in TRANSFORMERS_LOGGING if logging_public.get(n) is False}, {}
    )


def _tqdm(surface: dict[str, Any]) -> None:
    for name, allowed in TQDM.items():
        public = _public(importlib.import_module(name))
        children = {n: f"{name}.{n}" for n, is_mod in public.items()
                    if is_mod and f"{name}.{n}" in TQDM}
        surface[name] = _entry({n for n in allowed if public.get(n) is False}, children)


def build() -> dict[str, Any]:
    surface: dict[str, Any] = {}
    _stdlib(surface)
    _numpy(surface)
    _torch(surface)
    _transformers(surface)
    _tqdm(surface)
    versions = {"python": sys.version.split()[0]}
    for package in ("numpy", "torch", "transformers", "tqdm"):
        versions[package] = str(importlib.import_module(package).__version__)
    return {"generated_with": versions, "modules": dict(sorted(surface.items()))}


if __name__ == "__main__":
    OUT.write_text(json.dumps(build(), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")
