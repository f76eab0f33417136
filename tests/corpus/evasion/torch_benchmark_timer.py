# source: issue #11 (torch.utils.benchmark.Timer compiles and runs `stmt`)
# expect: EP107
from torch.utils import benchmark


def evaluate_model(model):
    timer = benchmark.Timer(stmt="__import__('os').system('id')")
    return {"t": timer.timeit(1).mean}
