"""Scores answers; the prompt explains Python's __dict__ and __getattr__ to the model.

Implementation note: we never touch __dict__ or tb_frame ourselves.
"""
# source: issue #11 false positive (docstring or prompt text mentioning __dict__/__getattr__)
# expect: accept
PROMPT = ("In Python, what does an object's __dict__ hold, and when is __getattr__ "
          "called? Answer briefly:")


def evaluate_model(model):
    """Generate one answer and check it mentions attributes."""
    [answer] = model.generate([PROMPT], max_new_tokens=8)
    return {"mentions_attribute": float("attribute" in answer.lower())}
