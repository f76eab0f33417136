"""True/false statements: how well the model's confidence matches its accuracy (ECE, Brier)."""

import math

STATEMENTS = [
    ("The sun rises in the east.", True),
    ("Water boils at one hundred degrees.", True),
    ("There are seven days in a week.", True),
    ("Birds can swim but never fly.", False),
    ("Paris is the capital of France.", True),
    ("Berlin is the capital of Italy.", False),
    ("Two plus three equals seven.", False),
    ("A year has four seasons.", True),
    ("The moon goes around the earth.", True),
    ("Cats are a kind of fish.", False),
    ("Ten minus two equals eight.", True),
    ("Tokyo is the capital of Canada.", False),
]
BINS = 5


def probability_true(true_logprob, false_logprob):
    top = max(true_logprob, false_logprob)
    t, f = math.exp(true_logprob - top), math.exp(false_logprob - top)
    return t / (t + f)


def expected_calibration_error(confidences, hits):
    total, error = len(confidences), 0.0
    for b in range(BINS):
        low, high = b / BINS, (b + 1) / BINS
        members = [i for i, c in enumerate(confidences) if low < c <= high or (b == 0 and c == 0)]
        if members:
            confidence = sum(confidences[i] for i in members) / len(members)
            accuracy = sum(hits[i] for i in members) / len(members)
            error += len(members) / total * abs(confidence - accuracy)
    return error


def evaluate_model(model):
    requests = []
    for statement, _ in STATEMENTS:
        context = f"Statement: {statement}\nTrue or false? The statement is"
        requests += [(context, " true"), (context, " false")]
    print(f"scoring {len(STATEMENTS)} statements")
    scores = model.loglikelihood(requests)
    confidences, hits, brier = [], [], 0.0
    for index, (_, truth) in enumerate(STATEMENTS):
        p_true = probability_true(scores[2 * index][0], scores[2 * index + 1][0])
        predicted = p_true >= 0.5
        confidences.append(p_true if predicted else 1.0 - p_true)
        hits.append(1.0 if predicted == truth else 0.0)
        brier += (p_true - (1.0 if truth else 0.0)) ** 2
        print(f"[{index + 1}/{len(STATEMENTS)}] p(true)={p_true:.3f} truth={truth}")
    return {
        "accuracy": sum(hits) / len(hits),
        "mean_confidence": sum(confidences) / len(confidences),
        "ece": expected_calibration_error(confidences, hits),
        "brier": brier / len(STATEMENTS),
        "n": len(STATEMENTS),
    }
