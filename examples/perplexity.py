"""Perplexity of fluent sentences, and how often they beat the same words shuffled."""

import statistics

SENTENCES = [
    "The sun rises in the east and sets in the west.",
    "There are seven days in a week and twelve months in a year.",
    "The children played in the park near the river.",
    "Water boils at one hundred degrees.",
    "Cats and dogs are common pets.",
    "The teacher asked the class a question and the students wrote the answer.",
    "Once upon a time there was a little girl who lived in a village near the forest.",
    "Birds can fly and fish can swim.",
    "The earth goes around the sun, and the moon goes around the earth.",
    "A good model assigns a high probability to fluent text.",
    "Reading stories at night is a good way to relax.",
    "The weather was fine, and the parents sat on a bench and talked.",
]


def shuffled(sentence):
    """The sentence's words out of order, the same way every run: odd positions first."""
    words = sentence.rstrip(".").split()
    return " ".join(words[1::2] + words[::2]) + "."


def evaluate_model(model):
    scrambled = [shuffled(s) for s in SENTENCES]
    print(f"scoring {len(SENTENCES)} sentences and their shuffled versions")
    fluent = model.perplexity(SENTENCES, batch_size=4)
    noisy = model.perplexity(scrambled, batch_size=4)
    for index, (good, bad) in enumerate(zip(fluent, noisy, strict=True)):
        print(f"[{index + 1}/{len(SENTENCES)}] fluent {good:.1f} shuffled {bad:.1f}")
    wins = sum(1 for good, bad in zip(fluent, noisy, strict=True) if good < bad)
    return {
        "mean_perplexity": statistics.fmean(fluent),
        "median_perplexity": statistics.median(fluent),
        "max_perplexity": max(fluent),
        "shuffled_mean_perplexity": statistics.fmean(noisy),
        "fluent_preferred_rate": wins / len(SENTENCES),
        "n": len(SENTENCES),
    }
