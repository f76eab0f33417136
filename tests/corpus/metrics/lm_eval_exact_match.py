"""Exact match with lm-eval's options (ignore case, punctuation, regexes)."""
# source: EleutherAI/lm-evaluation-harness lm_eval/api/metrics.py (exact_match_hf_evaluate), adapted
# expect: accept
import re
import string

import numpy as np

ITEMS = [("Q: What is 2 + 2?\nA:", "4"), ("Q: Capital of Italy?\nA:", "Rome")]


def exact_match(predictions, references, regexes_to_ignore=None, ignore_case=False,
                ignore_punctuation=False, ignore_numbers=False):
    predictions = np.asarray(predictions)
    references = np.asarray(references)
    for pattern in regexes_to_ignore or []:
        predictions = np.array([re.sub(pattern, "", x) for x in predictions])
        references = np.array([re.sub(pattern, "", x) for x in references])
    if ignore_case:
        predictions = np.char.lower(predictions)
        references = np.char.lower(references)
    if ignore_punctuation:
        table = str.maketrans("", "", string.punctuation)
        predictions = np.char.translate(predictions, table=table)
        references = np.char.translate(references, table=table)
    if ignore_numbers:
        table = str.maketrans("", "", string.digits)
        predictions = np.char.translate(predictions, table=table)
        references = np.char.translate(references, table=table)
    return {"exact_match": float(np.mean(predictions == references))}


def evaluate_model(model):
    outputs = model.generate([q for q, _ in ITEMS], max_new_tokens=4, stop=["\n"])
    return exact_match([o.strip() for o in outputs], [a for _, a in ITEMS],
                       regexes_to_ignore=[r"\s+$"], ignore_case=True, ignore_punctuation=True)
