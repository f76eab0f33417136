# source: evalpod attacker (static-validator follow-up, Nov 2026), EP202 false positive: a kwargs-setattr config class, and net(**inputs) with a tokenizer batch that cannot reach it
# expect: accept
import torch


class EvalConfig:
    def __init__(self, **kwargs):
        self.batch_size = 8
        self.max_length = 128
        for key, value in kwargs.items():
            setattr(self, key, value)


def evaluate_model(model):
    cfg = EvalConfig(batch_size=4)
    tok, net = model.tokenizer, model.model
    net.eval()
    texts = ["The capital of France is Paris.", "Two plus two is four."]
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(texts), cfg.batch_size):
            inputs = tok(texts[start:start + cfg.batch_size], return_tensors="pt",
                         padding=True, truncation=True, max_length=cfg.max_length)
            outputs = net(**inputs, labels=inputs["input_ids"])
            total += float(outputs.loss)
            count += 1
    return {"loss": total / count}
