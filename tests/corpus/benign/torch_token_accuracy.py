# source: evalpod own (#11 follow-up: ordinary evaluation code in the style of real ones)
# expect: accept
import torch
import torch.nn.functional as F

TEXTS = ["The cat sat on the mat.", "She sells sea shells by the sea shore."]


@torch.no_grad()
def next_token_stats(model, texts):
    tok = model.tokenizer
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    enc = tok(texts, return_tensors="pt", padding=True)
    enc = {k: v.to(model.device) for k, v in enc.items()}
    logits = model.model(**enc).logits[:, :-1]
    targets = enc["input_ids"][:, 1:]
    mask = enc["attention_mask"][:, 1:].bool()
    loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1),
                           reduction="none").view_as(targets)
    correct = (logits.argmax(dim=-1) == targets) & mask
    return correct.sum().item() / mask.sum().item(), (loss * mask).sum().item() / mask.sum().item()


def evaluate_model(model):
    model.model.eval()
    accuracy, nll = next_token_stats(model, TEXTS)
    return {"token_accuracy": accuracy, "nll": nll, "ppl": float(torch.exp(torch.tensor(nll)))}
