"""Short-answer questions: greedy generation scored by exact match and token F1."""

import re
import string
from collections import Counter

QUESTIONS = [
    ("What is the capital of France?", "Paris"),
    ("What is the capital of Germany?", "Berlin"),
    ("What is the capital of Italy?", "Rome"),
    ("What is the capital of Japan?", "Tokyo"),
    ("What is the capital of Canada?", "Ottawa"),
    ("What is two plus three?", "five"),
    ("How many days are in a week?", "seven"),
    ("How many months are in a year?", "twelve"),
    ("Which direction does the sun rise in?", "east"),
    ("What do birds use to fly?", "wings"),
    ("What is the opposite of hot?", "cold"),
    ("What color is the sky on a clear day?", "blue"),
]
BATCH = 6
FEW_SHOT = "Question: What is the capital of Spain?\nAnswer: Madrid\n\n"


def normalize(text):
    text = text.lower()
    text = "".join(ch for ch in text if ch not in string.punctuation)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def token_f1(prediction, reference):
    pred, ref = normalize(prediction).split(), normalize(reference).split()
    common = sum((Counter(pred) & Counter(ref)).values())
    if not pred or not ref or common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def evaluate_model(model):
    prompts = [f"{FEW_SHOT}Question: {q}\nAnswer:" for q, _ in QUESTIONS]
    print(f"generating answers for {len(prompts)} questions")
    answers = []
    for start in range(0, len(prompts), BATCH):
        answers += model.generate(prompts[start:start + BATCH], max_new_tokens=8,
                                  stop=["\n", "."], batch_size=BATCH)
        # A progress bar with rate and time left in `evalpod submit --follow` and the page.
        model.progress(len(answers), len(prompts), description="questions")
    exact, f1 = [], []
    for index, ((question, reference), answer) in enumerate(zip(QUESTIONS, answers, strict=True)):
        exact.append(1.0 if normalize(answer) == normalize(reference) else 0.0)
        f1.append(token_f1(answer, reference))
        print(f"[{index + 1}/{len(QUESTIONS)}] {question} -> {answer.strip()!r} (want {reference})")
    return {
        "exact_match": sum(exact) / len(exact),
        "f1": sum(f1) / len(f1),
        "empty_answers": sum(1 for a in answers if not a.strip()),
        "n": len(QUESTIONS),
    }
