"""Token perplexity from the model's own loss, the way HF `evaluate`'s perplexity does."""
# source: huggingface/evaluate metrics/perplexity/perplexity.py (shifted cross-entropy), adapted
# expect: accept B101
import torch
from torch.nn import CrossEntropyLoss

TEXTS = ["lorem ipsum dolor sit amet", "Happy birthday to you"]


def evaluate_model(model):
    tok = model.tokenizer
    loss_fct = CrossEntropyLoss(reduction="none")
    ppls = []
    with torch.no_grad():
        for text in TEXTS:
            enc = tok(text, return_tensors="pt")
            ids = enc["input_ids"]
            out = model.model(ids, labels=ids)
            logits = out.logits[..., :-1, :].contiguous()
            labels = ids[..., 1:].contiguous()
            nll = loss_fct(logits.transpose(1, 2), labels).mean()
            ppls.append(float(torch.exp(nll)))
            assert torch.isfinite(out.loss)
    return {"mean_perplexity": sum(ppls) / len(ppls), "perplexities": ppls}
