"""SQuAD exact match and token F1, as HF `evaluate`'s squad metric computes them."""
# source: huggingface/evaluate metrics/squad/compute_score.py (normalize_answer, f1_score), adapted
# expect: accept
import re
import string
from collections import Counter

ITEMS = [("Who wrote Hamlet? Answer:", ["William Shakespeare", "Shakespeare"]),
         ("What colour is the sky? Answer:", ["blue"])]


def normalize_answer(s):
    def remove_articles(text):
        return re.sub(r"\b(a|an|the)\b", " ", text)

    def white_space_fix(text):
        return " ".join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    return white_space_fix(remove_articles(remove_punc(s.lower())))


def f1_score(prediction, ground_truth):
    prediction_tokens = normalize_answer(prediction).split()
    ground_truth_tokens = normalize_answer(ground_truth).split()
    common = Counter(prediction_tokens) & Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(prediction_tokens)
    recall = num_same / len(ground_truth_tokens)
    return 2 * precision * recall / (precision + recall)


def metric_max_over_ground_truths(metric_fn, prediction, ground_truths):
    return max(metric_fn(prediction, gt) for gt in ground_truths)


def evaluate_model(model):
    outputs = model.generate([q for q, _ in ITEMS], max_new_tokens=6, stop=["\n"])
    f1 = em = 0.0
    for output, (_, truths) in zip(outputs, ITEMS):
        f1 += metric_max_over_ground_truths(f1_score, output, truths)
        em += metric_max_over_ground_truths(
            lambda p, g: float(normalize_answer(p) == normalize_answer(g)), output, truths)
    return {"f1": 100.0 * f1 / len(ITEMS), "exact_match": 100.0 * em / len(ITEMS)}
