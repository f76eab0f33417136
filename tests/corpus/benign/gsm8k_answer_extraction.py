# source: evalpod own (#11 follow-up: ordinary evaluation code in the style of real ones)
# expect: accept
"""GSM8K-style: extract the final number after '####' or the last number in the text."""
import re
import string

ANSWER_RE = re.compile(r"#### (\-?[0-9\.\,]+)")
NUMBER_RE = re.compile(r"-?\d+(?:\.\d+)?")
INVALID = "[invalid]"

PROBLEMS = [
    ("Tom has 3 apples and buys 2 more. How many apples?", "5"),
    ("A box holds 4 pens. How many pens in 3 boxes?", "12"),
]


def extract(completion):
    match = ANSWER_RE.search(completion)
    if match:
        return match.group(1).strip().replace(",", "")
    numbers = NUMBER_RE.findall(completion)
    return numbers[-1] if numbers else INVALID


def clean(text):
    return text.strip().strip(string.punctuation + string.whitespace)


def evaluate_model(model):
    fewshot = "Q: 1 + 1?\nA: 1 + 1 = 2 #### 2\n\n"
    prompts = [f"{fewshot}Q: {q}\nA:" for q, _ in PROBLEMS]
    outputs = model.generate(prompts, max_new_tokens=16, stop=["\n\n", "Q:"])
    answers = [clean(extract(o)) for o in outputs]
    correct = [a == gold for a, (_, gold) in zip(answers, PROBLEMS)]
    return {"exact_match": sum(correct) / len(correct),
            "invalid": answers.count(INVALID), "answers": answers}
