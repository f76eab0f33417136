# source: evalpod attacker (static-validator follow-up, Nov 2026): tokenizers' Tokenizer.save and tokenizer_file= open files in Rust, past the runtime guard
# expect: EP401
def evaluate_model(model):
    backend = model.tokenizer.backend_tokenizer
    backend.save("/out/result.json")
    fast = type(model.tokenizer)(tokenizer_file="/job/spec.json")
    return {"n": float(len(fast))}
