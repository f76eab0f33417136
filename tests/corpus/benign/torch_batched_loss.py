# source: evalpod own (corpus before #11)
# expect: accept
import torch
import torch.nn.functional as F

SENTENCES = [
    "A small batch of sentences.",
    "Padding lets us batch them together.",
    "The loss is averaged over real tokens only.",
]


def batches(items, size):
    for start in range(0, len(items), size):
        yield items[start:start + size]


@torch.no_grad()
def evaluate_model(model):
    tok, lm = model.tokenizer, model.model
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    total_loss, total_tokens = 0.0, 0
    for batch in batches(SENTENCES, 2):
        enc = tok(batch, return_tensors="pt", padding=True).to(model.device)
        logits = lm(**enc).logits[:, :-1]
        target = enc["input_ids"][:, 1:]
        mask = enc["attention_mask"][:, 1:].bool()
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), target.reshape(-1), reduction="none")
        total_loss += loss[mask.reshape(-1)].sum().item()
        total_tokens += int(mask.sum())
    return {"nll_per_token": total_loss / max(total_tokens, 1)}
