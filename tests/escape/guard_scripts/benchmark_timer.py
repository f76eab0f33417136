"""Issue #11: torch.utils.benchmark.Timer compiles and runs a statement given as text.
expect: compile"""
from torch.utils.benchmark import Timer


def evaluate_model(model):
    Timer(stmt="__import__('os').system('id')").timeit(1)
    return {}
