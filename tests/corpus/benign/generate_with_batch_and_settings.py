# source: evalpod attacker (static-validator follow-up, Nov 2026), EP202 false positive: generate(**batch, **settings) with a dict comprehension batch
# expect: accept
import copy
import torch


def evaluate_model(model):
    tok, net = model.tokenizer, model.model
    net.eval()
    tok.padding_side = "left"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    batch = tok(["hello world", "hi"], return_tensors="pt", padding=True)
    batch = {k: v.to(net.device) for k, v in batch.items()}
    gen_kwargs = {"max_new_tokens": 4, "do_sample": False}
    settings = copy.deepcopy(gen_kwargs)
    settings["pad_token_id"] = tok.pad_token_id
    with torch.inference_mode():
        out = net.generate(**batch, **settings)
    texts = tok.batch_decode(out[:, batch["input_ids"].shape[1]:], skip_special_tokens=True)
    return {"mean_len": sum(len(t) for t in texts) / len(texts)}
