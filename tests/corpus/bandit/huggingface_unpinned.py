# source: PyCQA/bandit examples/huggingface_unsafe_download.py (B615)
# expect: EP502
from transformers import AutoModel


def evaluate_model(model):
    other = AutoModel.from_pretrained("some-org/some-model")
    return {"n": str(type(other))}
