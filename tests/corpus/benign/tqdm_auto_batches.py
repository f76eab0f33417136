# source: evalpod own (#11 follow-up: ordinary evaluation code, false-positive class)
# expect: accept
import tqdm
from tqdm.auto import tqdm as auto_tqdm

ITEMS = [("2 + 2 =", " 4"), ("3 + 3 =", " 6"), ("4 + 4 =", " 8"), ("5 + 5 =", " 10")]


def batched(items, size):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def evaluate_model(model):
    scores = []
    with auto_tqdm(total=len(ITEMS), desc="batches") as bar:
        for batch in batched(ITEMS, 2):
            scores.extend(s for s, _ in model.loglikelihood(batch))
            bar.update(len(batch))
    greedy = [g for _, g in model.loglikelihood(ITEMS)]
    for _ in tqdm.tqdm(range(2), disable=True):
        pass
    return {"mean_logprob": sum(scores) / len(scores), "greedy": sum(greedy) / len(greedy)}
