# source: evalpod own (#11 follow-up: ordinary evaluation code in the style of real ones)
# expect: accept
import math
import warnings


def safe_log(x):
    if x <= 0:
        warnings.warn(f"log of non-positive value {x}; using -inf", RuntimeWarning, stacklevel=2)
        return -math.inf
    return math.log(x)


def evaluate_model(model):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        values = [safe_log(x) for x in (1.0, 0.0, 2.0)]
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    out = model.generate(["Warnings are"], max_new_tokens=2)
    finite = [v for v in values if math.isfinite(v)]
    return {"warnings": len(caught), "kinds": sorted({w.category.__name__ for w in caught}),
            "finite_mean": sum(finite) / len(finite), "out": len(out)}
