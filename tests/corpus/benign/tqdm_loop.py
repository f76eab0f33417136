# source: evalpod own (#11 follow-up: ordinary evaluation code, false-positive class)
# expect: accept
from tqdm import tqdm, trange

SENTENCES = ["The quick brown fox.", "Jumps over the lazy dog.", "Pack my box with jugs."]


def evaluate_model(model):
    total = 0.0
    for sentence in tqdm(SENTENCES, desc="perplexity", leave=False):
        total += model.loglikelihood([("", sentence)])[0][0]
    bar = tqdm(total=len(SENTENCES), unit="ex")
    for _ in trange(len(SENTENCES)):
        bar.update(1)
        bar.set_postfix(loss=round(-total, 2))
    bar.close()
    tqdm.write("finished")
    return {"total_logprob": total}
