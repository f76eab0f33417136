"""Matthews correlation and macro F1 for a yes/no classification prompt."""
# source: huggingface/evaluate metrics/matthews_correlation + metrics/f1 (sklearn formulas), self-contained
# expect: accept
import math

ITEMS = [("Is the sky blue? Answer yes or no:", 1), ("Is fire cold? Answer yes or no:", 0),
         ("Is water wet? Answer yes or no:", 1), ("Is a cat a plant? Answer yes or no:", 0)]


def confusion(preds, refs):
    tp = sum(p == 1 and r == 1 for p, r in zip(preds, refs))
    tn = sum(p == 0 and r == 0 for p, r in zip(preds, refs))
    fp = sum(p == 1 and r == 0 for p, r in zip(preds, refs))
    fn = sum(p == 0 and r == 1 for p, r in zip(preds, refs))
    return tp, tn, fp, fn


def matthews(preds, refs):
    tp, tn, fp, fn = confusion(preds, refs)
    denom = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return 0.0 if denom == 0 else (tp * tn - fp * fn) / denom


def f1_macro(preds, refs):
    scores = []
    for label in (0, 1):
        tp = sum(p == label and r == label for p, r in zip(preds, refs))
        fp = sum(p == label and r != label for p, r in zip(preds, refs))
        fn = sum(p != label and r == label for p, r in zip(preds, refs))
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return sum(scores) / len(scores)


def evaluate_model(model):
    preds = []
    for prompt, _ in ITEMS:
        (yes, _), (no, _) = model.loglikelihood([(prompt, " yes"), (prompt, " no")])
        preds.append(int(yes > no))
    refs = [label for _, label in ITEMS]
    return {"mcc": matthews(preds, refs), "f1_macro": f1_macro(preds, refs)}
