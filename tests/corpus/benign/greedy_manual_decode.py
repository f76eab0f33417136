# source: evalpod own (corpus before #11)
# expect: accept
import torch


@torch.inference_mode()
def greedy(model, prompt: str, steps: int = 5) -> str:
    tok = model.tokenizer
    ids = tok(prompt, return_tensors="pt")["input_ids"].to(model.device)
    for _ in range(steps):
        logits = model.model(ids).logits[:, -1, :]
        next_id = torch.argmax(logits, dim=-1, keepdim=True)
        ids = torch.cat([ids, next_id], dim=-1)
    return tok.decode(ids[0], skip_special_tokens=True)


def evaluate_model(model):
    text = greedy(model, "The sun rises in the")
    agrees = model.generate(["The sun rises in the"], max_new_tokens=5)[0].strip() in text
    print(text)
    return {"greedy_matches_generate": float(agrees)}
