# source: evalpod own (#11 follow-up: ordinary evaluation code in the style of real ones)
# expect: accept
"""Does the model rank continuations the way humans do? Kendall's tau over pairs."""
import itertools

CANDIDATES = [(" delicious", 3), (" fine", 2), (" inedible", 1)]


def kendall_tau(xs, ys):
    concordant = discordant = 0
    for (x1, y1), (x2, y2) in itertools.combinations(zip(xs, ys), 2):
        sign = (x1 - x2) * (y1 - y2)
        if sign > 0:
            concordant += 1
        elif sign < 0:
            discordant += 1
    pairs = concordant + discordant
    return (concordant - discordant) / pairs if pairs else 0.0


def evaluate_model(model):
    context = "The soup at the restaurant was"
    scores = [ll for ll, _ in model.loglikelihood([(context, c) for c, _ in CANDIDATES])]
    human = [rank for _, rank in CANDIDATES]
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    return {"tau": kendall_tau(scores, human), "model_top": CANDIDATES[order[0]][0].strip(),
            "permutations": sum(1 for _ in itertools.permutations(range(3)))}
