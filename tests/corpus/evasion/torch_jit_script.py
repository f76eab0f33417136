# source: evalpod own (TorchScript compiles source text)
# expect: EP107
import torch


def evaluate_model(model):
    fn = torch.jit.CompilationUnit("def f(x):\n    return x\n")
    return {"ok": fn is not None}
