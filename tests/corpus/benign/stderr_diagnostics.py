# source: evalpod own (#11 follow-up: ordinary evaluation code, false-positive class)
# expect: accept
import sys

QUESTIONS = [("What is 3 + 4?", "7"), ("What is 10 - 6?", "4"), ("What is 2 * 5?", "10")]


def evaluate_model(model):
    correct = 0
    for question, answer in QUESTIONS:
        out = model.generate([f"Q: {question}\nA:"], max_new_tokens=4)[0]
        hit = answer in out
        correct += hit
        if not hit:
            print(f"miss: {question!r} -> {out!r}", file=sys.stderr)
    print("done", file=sys.stdout, flush=True)
    sys.stderr.write(f"accuracy {correct}/{len(QUESTIONS)}\n")
    sys.stderr.flush()
    return {"accuracy": correct / len(QUESTIONS)}
