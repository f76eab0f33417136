# source: evalpod own (#11 follow-up: ordinary evaluation code in the style of real ones)
# expect: accept
import contextlib

import torch


@contextlib.contextmanager
def eval_mode(module):
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


def evaluate_model(model):
    enc = model.tokenizer(["Hello world", "Goodbye moon"], return_tensors="pt", padding=True)
    with contextlib.ExitStack() as stack:
        stack.enter_context(torch.no_grad())
        net = stack.enter_context(eval_mode(model.model))
        logits = net(**enc).logits
    probs = torch.softmax(logits[:, -1, :], dim=-1)
    top = torch.topk(probs, k=3, dim=-1)
    with contextlib.nullcontext():
        tokens = [model.tokenizer.batch_decode(row.unsqueeze(-1)) for row in top.indices]
    return {"top_prob": float(top.values[:, 0].mean()), "tokens": tokens,
            "shape": list(logits.shape[:2])}
