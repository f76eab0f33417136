# source: evalpod own (corpus before #11)
# expect: EP602
def evaluate_model(model):
    code = bytes.fromhex("696d706f7274206f733b206f732e73797374656d2827696427").decode()
    runner = model.generate
    return {"code": code, "r": runner([code])}
