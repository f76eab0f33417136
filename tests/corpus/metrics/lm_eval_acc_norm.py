"""Multiple choice accuracy and length-normalised accuracy (acc / acc_norm)."""
# source: EleutherAI/lm-evaluation-harness lm_eval/api/task.py (process_results for multiple_choice), adapted
# expect: accept
import numpy as np

DOCS = [
    {"query": "The capital of France is", "choices": [" Paris", " Berlin", " Madrid"], "gold": 0},
    {"query": "Ice is frozen", "choices": [" fire", " water", " sand"], "gold": 1},
]


def evaluate_model(model):
    acc = acc_norm = 0.0
    for doc in DOCS:
        results = model.loglikelihood([(doc["query"], c) for c in doc["choices"]])
        lls = np.array([ll for ll, _ in results])
        lengths = np.array([float(len(c)) for c in doc["choices"]])
        acc += float(np.argmax(lls) == doc["gold"])
        acc_norm += float(np.argmax(lls / lengths) == doc["gold"])
    return {"acc": acc / len(DOCS), "acc_norm": acc_norm / len(DOCS)}
