# source: evalpod own (corpus before #11)
# expect: accept
import time

PROMPTS = [f"Write a word that rhymes with {w}:" for w in ["cat", "dog", "tree", "blue", "sky"]]


def evaluate_model(model):
    started = time.perf_counter()
    nonempty = 0
    for i, prompt in enumerate(PROMPTS, 1):
        out = model.generate([prompt], max_new_tokens=4)[0]
        nonempty += int(bool(out.strip()))
        print(f"[{i}/{len(PROMPTS)}] {prompt!r} -> {out!r}", flush=True)
    elapsed = time.perf_counter() - started
    return {"nonempty_rate": nonempty / len(PROMPTS), "seconds": round(elapsed, 3)}
