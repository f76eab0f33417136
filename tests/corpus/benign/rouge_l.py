# source: evalpod own (corpus before #11)
# expect: accept
def lcs(a, b):
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a, 1):
        for j, y in enumerate(b, 1):
            table[i][j] = table[i - 1][j - 1] + 1 if x == y else max(table[i - 1][j], table[i][j - 1])
    return table[-1][-1]


def rouge_l(candidate: str, reference: str) -> float:
    c, r = candidate.split(), reference.split()
    if not c or not r:
        return 0.0
    common = lcs(c, r)
    precision, recall = common / len(c), common / len(r)
    return 0.0 if common == 0 else 2 * precision * recall / (precision + recall)


DATA = [
    ("Summarise: The cat sat on the mat all day.", "cat sat on mat"),
    ("Summarise: Rain fell over the city for hours.", "rain fell over city"),
]


def evaluate_model(model):
    outs = model.generate([d[0] for d in DATA], max_new_tokens=12)
    values = [rouge_l(o, ref) for o, (_, ref) in zip(outs, DATA)]
    return {"rouge_l": sum(values) / len(values)}
