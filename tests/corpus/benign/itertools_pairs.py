# source: evalpod own (corpus before #11)
# expect: accept
import itertools
import math


def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


def evaluate_model(model):
    words = ["king", "queen", "apple"]
    tok = model.tokenizer
    emb = model.model.get_input_embeddings().weight
    vectors = {w: emb[tok(w)["input_ids"][0]].tolist() for w in words}
    sims = {f"{a}-{b}": cosine(vectors[a], vectors[b]) for a, b in itertools.combinations(words, 2)}
    return sims
