"""Benchmark script: answer each quiz question by log-likelihood and return predictions.

The `answer` column is hidden: the script sees `id`, `question` and `choices` only, and
returns {"predictions": {id: chosen option}}; the platform's trusted scorer compares
them with the hidden answers (multiple-choice accuracy) in a separate sandbox run.
"""


def evaluate_model(model, data):
    quiz = data["quiz"]
    requests, owners = [], []
    for row in quiz:
        context = f"Question: {row['question']}\nAnswer:"
        for choice in row["choices"]:
            requests.append((context, f" {choice}"))
            owners.append(row["id"])
    print(f"scoring {len(requests)} (question, choice) pairs over {len(quiz)} questions")
    scores = model.loglikelihood(requests, batch_size=8)
    best = {}
    for owner, (_, continuation), (logprob, _) in zip(owners, requests, scores,
                                                            strict=True):
        normalised = logprob / len(continuation)
        if owner not in best or normalised > best[owner][0]:
            best[owner] = (normalised, continuation.strip())
    predictions = {row_id: choice for row_id, (_, choice) in best.items()}
    return {"predictions": predictions, "questions": len(quiz)}
