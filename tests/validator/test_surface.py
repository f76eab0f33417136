"""The allowlist inside allowed packages: complete, and closed over gadgets."""

from __future__ import annotations

import pytest

from validator.policy.names import ALLOWED_MODULES, DENIED_APIS
from validator.policy.surface import surfaces, unlisted


def test_every_allowed_module_is_walked_through_the_allowlist() -> None:
    assert not ALLOWED_MODULES - surfaces().keys()


def test_every_listed_submodule_is_described() -> None:
    table = surfaces()
    missing = [(name, attr) for name, surface in table.items()
               for attr, target in surface.submodules.items() if target not in table]
    assert missing == []


def test_no_denied_api_is_listed() -> None:
    assert [api for api in DENIED_APIS if unlisted(api) is None] == []


@pytest.mark.parametrize(
    ("dotted", "refused"),
    [
        ("torch.utils.collect_env.run", "torch.utils.collect_env"),
        ("torch.utils.benchmark.Timer", "torch.utils.benchmark"),
        ("torch.serialization.add_safe_globals", "torch.serialization"),
        ("torch.load", "torch.load"),
        ("torch.compile", "torch.compile"),
        ("torch.from_file", "torch.from_file"),
        ("torch.ops.load_library", "torch.ops"),
        ("torch.nn.functional.torch.hub", "torch.nn.functional.torch"),
        ("torch.nn.parallel.DistributedDataParallel", "torch.nn.parallel"),
        ("dataclasses.make_dataclass", "dataclasses.make_dataclass"),
        ("warnings.warn_explicit", "warnings.warn_explicit"),
        ("warnings.formatwarning", "warnings.formatwarning"),
        ("warnings.linecache", "warnings.linecache"),
        ("json.codecs.open", "json.codecs"),
        ("numpy.load", "numpy.load"),
        ("numpy.lib.format", "numpy.lib"),
        ("transformers.Trainer", "transformers.Trainer"),
        ("transformers.pipeline", "transformers.pipeline"),
        ("typing.get_type_hints", "typing.get_type_hints"),
        ("math.not_a_function", "math.not_a_function"),
    ],
)
def test_gadgets_are_unlisted(dotted: str, refused: str) -> None:
    assert unlisted(dotted) == refused


@pytest.mark.parametrize(
    "dotted",
    [
        "torch.zeros", "torch.Tensor.softmax", "torch.float16", "torch.no_grad",
        "torch.nn.functional.cross_entropy", "torch.nn.Module.eval", "torch.nn.init.zeros_",
        "torch.utils.data.DataLoader", "torch.linalg.norm", "torch.cuda.is_available",
        "torch.backends.cudnn.deterministic", "torch.__version__",
        "transformers.AutoModelForCausalLM.config_class", "transformers.GenerationConfig",
        "transformers.logging.set_verbosity_error", "transformers.modeling_outputs",
        "numpy.random.default_rng", "numpy.linalg.norm", "collections.abc.Mapping",
        "dataclasses.dataclass", "warnings.warn", "typing.NamedTuple", "math.isclose",
        "scipy.stats", "builtins.len",  # roots the allowlist does not manage
    ],
)
def test_evaluation_surface_is_listed(dotted: str) -> None:
    assert unlisted(dotted) is None
