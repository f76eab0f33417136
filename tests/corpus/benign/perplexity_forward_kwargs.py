# source: evalpod attacker (static-validator follow-up, Nov 2026), EP202 false positive: net(**enc).logits perplexity
# expect: accept
import torch
import torch.nn.functional as F


def evaluate_model(model):
    tok, net = model.tokenizer, model.model
    net.eval()
    enc = tok("Paris is the capital of France", return_tensors="pt")
    with torch.no_grad():
        logits = net(**enc).logits
    logp = F.log_softmax(logits[:, :-1], dim=-1)
    target = enc["input_ids"][:, 1:]
    nll = -logp.gather(-1, target.unsqueeze(-1)).squeeze(-1).mean()
    return {"perplexity": float(torch.exp(nll))}
