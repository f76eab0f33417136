"""Prompt templates picked from a dict by task kind."""
# source: issue #11 false positive (TEMPLATES[kind].format(q=q))
# expect: accept
TEMPLATES = {
    "qa": "Question: {q}\nAnswer:",
    "cloze": "Fill in the blank: {q}",
}
ITEMS = [("qa", "What is the capital of France?"), ("cloze", "The sky is ___.")]


def evaluate_model(model):
    prompts = [TEMPLATES[kind].format(q=q) for kind, q in ITEMS]
    outputs = model.generate(prompts, max_new_tokens=4)
    return {"n": len(outputs), "mean_chars": sum(len(o) for o in outputs) / len(outputs)}
