"""Batched scoring with the parts of torch evaluation code uses most."""
# source: evalpod own (torch tensor maths, torch.nn, torch.nn.functional, torch.utils.data)
# expect: accept
import math

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

TEXTS = ["The quick brown fox", "jumps over the lazy dog", "and runs away"]


def evaluate_model(model):
    torch.manual_seed(0)
    tok = model.tokenizer
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    enc = tok(TEXTS, return_tensors="pt", padding=True)
    loader = DataLoader(TensorDataset(enc["input_ids"], enc["attention_mask"]), batch_size=2)
    total, count = 0.0, 0
    model.model.eval()
    with torch.inference_mode():
        for ids, mask in loader:
            logits = model.model(input_ids=ids, attention_mask=mask).logits
            logp = F.log_softmax(logits[:, :-1].float(), dim=-1)
            target = ids[:, 1:].unsqueeze(-1)
            picked = torch.gather(logp, -1, target).squeeze(-1) * mask[:, 1:]
            total += float(picked.sum())
            count += int(mask[:, 1:].sum())
    probs = torch.softmax(torch.tensor([1.0, 2.0, 3.0]), dim=0)
    entropy = float(torch.distributions.Categorical(probs=probs).entropy())
    norm = float(torch.linalg.vector_norm(torch.ones(4)))
    return {"ppl": math.exp(-total / max(count, 1)), "entropy": entropy, "norm": norm,
            "dtype": str(torch.float32), "cuda": torch.cuda.is_available()}
