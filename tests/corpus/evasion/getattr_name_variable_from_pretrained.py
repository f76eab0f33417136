# source: evalpod attacker (static-validator follow-up, Nov 2026): getattr(model.tokenizer, name) with name = "from_pretrained"
# expect: EP502
def evaluate_model(model):
    name = "from_pretrained"
    tok = getattr(model.tokenizer, name)("gpt2")
    return {"n": float(len(tok))}
