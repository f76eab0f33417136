# source: evalpod own (corpus before #11)
# expect: accept B311
import random
import statistics

import torch


def evaluate_model(model):
    random.seed(1234)
    torch.manual_seed(1234)
    prompts = [f"Count to {random.randint(2, 5)}:" for _ in range(4)]
    outputs = model.generate(prompts, max_new_tokens=10)
    lengths = [len(o.split()) for o in outputs]
    print("lengths", lengths)
    return {
        "mean_len": statistics.mean(lengths),
        "stdev_len": statistics.pstdev(lengths),
    }
