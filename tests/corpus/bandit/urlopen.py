# source: PyCQA/bandit examples/urlopen.py (B310)
# expect: EP102
import urllib.request


def evaluate_model(model):
    return {"x": urllib.request.urlopen("http://example.com").read()}
