# source: evalpod attacker (static-validator follow-up, Nov 2026): safetensors' safe_open (Rust) fetched by a literal name
# expect: EP401
def evaluate_model(model):
    opener = getattr(model.model, "safe_open", None)
    if opener is not None:
        with opener("/job/spec.json", framework="pt") as handle:
            return {"n": float(len(list(handle.keys())))}
    return {"n": 0.0}
