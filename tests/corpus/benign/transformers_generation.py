"""Greedy generation with a stopping criterion and a logits processor."""
# source: evalpod own (transformers generation classes on model.model)
# expect: accept
import torch
from transformers import (
    GenerationConfig,
    LogitsProcessor,
    LogitsProcessorList,
    StoppingCriteria,
    StoppingCriteriaList,
)


class StopAfter(StoppingCriteria):
    def __init__(self, limit):
        self.limit = limit

    def __call__(self, input_ids, scores, **kwargs):
        return input_ids.shape[-1] >= self.limit


class NoToken(LogitsProcessor):
    def __init__(self, token_id):
        self.token_id = token_id

    def __call__(self, input_ids, scores):
        scores[:, self.token_id] = -float("inf")
        return scores


def evaluate_model(model):
    enc = model.tokenizer("Once upon a time", return_tensors="pt")
    config = GenerationConfig(max_new_tokens=5, do_sample=False,
                              pad_token_id=model.tokenizer.eos_token_id)
    with torch.no_grad():
        out = model.model.generate(
            **enc, generation_config=config,
            stopping_criteria=StoppingCriteriaList([StopAfter(enc["input_ids"].shape[-1] + 3)]),
            logits_processor=LogitsProcessorList([NoToken(0)]),
        )
    text = model.tokenizer.decode(out[0], skip_special_tokens=True)
    return {"new_tokens": int(out.shape[-1] - enc["input_ids"].shape[-1]), "chars": len(text)}
