# source: evalpod own (corpus before #11)
# expect: accept
from collections import Counter, defaultdict


def evaluate_model(model):
    outs = model.generate(["Describe the sea:", "Describe a forest:"], max_new_tokens=20)
    counts = Counter(word.lower().strip(".,!?") for out in outs for word in out.split())
    by_length = defaultdict(int)
    for word, n in counts.items():
        by_length[len(word)] += n
    distinct = len(counts) / max(sum(counts.values()), 1)
    top = counts.most_common(3)
    print("top words:", top)
    return {"distinct_1": distinct, "longest_word": max(by_length) if by_length else 0}
