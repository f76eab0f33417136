"""Multiple-choice questions scored by log-likelihood (accuracy and length-normalised accuracy)."""

QUESTIONS = [
    ("What is 2 + 3?", ["4", "5", "6", "7"], 1),
    ("What is 9 - 4?", ["3", "4", "5", "6"], 2),
    ("Which animal can fly?", ["fish", "dog", "bird", "cat"], 2),
    ("Where does the sun rise?", ["east", "west", "north", "south"], 0),
    ("How many days are in a week?", ["five", "six", "seven", "eight"], 2),
    ("What is the capital of France?", ["Berlin", "Paris", "Rome", "Madrid"], 1),
    ("What is the capital of Japan?", ["Tokyo", "Beijing", "Delhi", "Cairo"], 0),
    ("Which season comes after summer?", ["spring", "winter", "autumn", "summer"], 2),
    ("What does a fish do?", ["fly", "swim", "sing", "read"], 1),
    ("What is 6 + 6?", ["10", "11", "12", "13"], 2),
]


def evaluate_model(model):
    requests, owners = [], []
    for index, (question, choices, _) in enumerate(QUESTIONS):
        context = f"Question: {question}\nAnswer:"
        for choice in choices:
            requests.append((context, f" {choice}"))
            owners.append(index)
    print(f"scoring {len(requests)} (question, choice) pairs")
    scores = model.loglikelihood(requests, batch_size=8)
    per_question = [[] for _ in QUESTIONS]
    for owner, (request, (logprob, _)) in zip(
        owners, zip(requests, scores, strict=True), strict=True
    ):
        per_question[owner].append((logprob, len(request[1])))
    correct = correct_norm = 0
    for index, ((question, choices, label), options) in enumerate(
        zip(QUESTIONS, per_question, strict=True)
    ):
        raw = max(range(len(options)), key=lambda i: options[i][0])
        norm = max(range(len(options)), key=lambda i: options[i][0] / options[i][1])
        correct += raw == label
        correct_norm += norm == label
        picked, wanted = choices[raw], choices[label]
        print(f"[{index + 1}/{len(QUESTIONS)}] {question} picked {picked!r}, want {wanted!r}")
    return {
        "accuracy": correct / len(QUESTIONS),
        "accuracy_norm": correct_norm / len(QUESTIONS),
        "chance": 0.25,
        "n": len(QUESTIONS),
    }
