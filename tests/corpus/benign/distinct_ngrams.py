# source: evalpod own (#11 follow-up: ordinary evaluation code in the style of real ones)
# expect: accept
"""Diversity of generations: distinct-n, repetition rate, vocabulary growth."""
from collections import Counter, defaultdict, deque


def ngrams(tokens, n):
    window = deque(maxlen=n)
    for token in tokens:
        window.append(token)
        if len(window) == n:
            yield tuple(window)


def distinct_n(texts, n):
    seen, total = set(), 0
    for text in texts:
        grams = list(ngrams(text.split(), n))
        seen.update(grams)
        total += len(grams)
    return len(seen) / total if total else 0.0


def evaluate_model(model):
    outputs = model.generate(["Tell me a story:", "Describe the sea:", "List fruits:"],
                             max_new_tokens=12)
    by_first = defaultdict(list)
    for out in outputs:
        words = out.split()
        by_first[words[0] if words else ""].append(len(words))
    counts = Counter(word for out in outputs for word in out.split())
    repeated = sum(c for c in counts.values() if c > 1)
    return {
        "distinct_1": distinct_n(outputs, 1),
        "distinct_2": distinct_n(outputs, 2),
        "repetition": repeated / max(sum(counts.values()), 1),
        "top": counts.most_common(3),
        "groups": len(by_first),
    }
